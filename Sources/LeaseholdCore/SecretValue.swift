/// A secret string (password, token, unseal key) that redacts itself everywhere it could be printed.
///
/// Read the value only through ``revealed`` at the single point where it must leave the process.
public struct SecretValue: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
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
}
