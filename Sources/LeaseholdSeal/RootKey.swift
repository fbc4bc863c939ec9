import Crypto
import Foundation
import LeaseholdCore

/// The 256-bit root key that encrypts the ``KeyRing``; it is what the unseal key shares rebuild.
///
/// It never prints: `description`, `debugDescription` and the mirror are redacted.
public struct RootKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key length in bytes.
    public static let byteCount = 32

    private let storage: [UInt8]

    /// Generates a new random root key.
    public static func generate() -> RootKey {
        RootKey(validatedBytes: SecureRandom.bytes(byteCount))
    }

    /// Wraps existing key bytes, such as those rebuilt by ``Shamir/combine(_:)``.
    ///
    /// - Throws: `LeaseholdError` with code `.invalidRequest` unless `bytes` holds exactly 32 bytes.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount else {
            throw LeaseholdError(.invalidRequest, "root key must be exactly \(Self.byteCount) bytes")
        }
        self.init(validatedBytes: bytes)
    }

    private init(validatedBytes: [UInt8]) {
        self.storage = validatedBytes
    }

    /// The raw key bytes, for splitting into shares or writing to a key file. Never log them.
    public var bytes: [UInt8] { storage }

    /// The key as a swift-crypto key.
    var symmetricKey: SymmetricKey { SymmetricKey(data: storage) }

    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// A mirror without children, so `dump` and reflection reveal nothing.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
