import Crypto
import Foundation
import LeaseholdCore

/// HMAC-SHA256 under a secret key, for storing and looking up tokens and for audit-log hashing.
///
/// Look secrets up by their keyed hash rather than comparing them (security.md §C, S3).
public struct KeyedHasher: Sendable {
    private let key: SymmetricKey

    /// Creates a hasher; derive `key` with ``KeyRing/derivedKey(purpose:)``.
    public init(key: SymmetricKey) {
        self.key = key
    }

    /// The HMAC-SHA256 of the UTF-8 bytes of `value`, as 64 lowercase hexadecimal characters.
    public func hash(_ value: String) -> String {
        hash(Data(value.utf8))
    }

    /// The HMAC-SHA256 of `bytes`, as 64 lowercase hexadecimal characters.
    public func hash(_ bytes: Data) -> String {
        HMAC<SHA256>.authenticationCode(for: bytes, using: key).hexString
    }
}
