/// A right a policy grants on a path.
public enum Capability: String, Sendable, CaseIterable, Hashable, Comparable {
    /// Write to a path that does not exist yet.
    case create
    /// Read a path.
    case read
    /// Write to a path that exists.
    case update
    /// Partially update a path (HTTP PATCH).
    case patch
    /// Delete a path.
    case delete
    /// List the keys below a path.
    case list
    /// Use root-protected paths.
    case sudo
    /// Refuse everything; overrides every other capability.
    case deny
    /// Recursively list keys below a path (OpenBao).
    case scan

    /// Orders by name, as Vault sorts capabilities in its responses.
    public static func < (lhs: Capability, rhs: Capability) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The capabilities of a legacy `policy = "…"` shorthand (`deny`, `read`, `write`, `sudo`), or `nil` if unknown.
    public static func legacyShorthand(_ policy: String) -> Set<Capability>? {
        switch policy {
        case "deny": [.deny]
        case "read": [.read, .list]
        case "write": [.create, .read, .update, .delete, .list]
        case "sudo": [.create, .read, .update, .delete, .list, .sudo]
        default: nil
        }
    }
}
