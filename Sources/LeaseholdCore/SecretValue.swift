/// A secret string (password, token, unseal key) that redacts itself everywhere it could be printed.
///
/// Read the value only through ``revealed`` at the single point where it must leave the process.
public struct SecretValue: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let storage: String

    /// Wraps a secret.
    public init(_ value: String) { self.storage = value }

    /// The secret itself. Never log or interpolate it.
    public var revealed: String { storage }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Decodes the secret from a string. Only the broker's encrypted store encodes secrets.
    public init(from decoder: any Decoder) throws {
        self.storage = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the secret as a string; use only for values that are encrypted before they are stored.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(storage)
    }
}
