import Crypto
import Foundation

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
        HMAC<SHA256>.authenticationCode(for: bytes, using: key).hexadecimalString
    }
}

extension Sequence<UInt8> {
    /// The bytes as lowercase hexadecimal text.
    var hexadecimalString: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
