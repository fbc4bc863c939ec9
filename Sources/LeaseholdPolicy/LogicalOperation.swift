/// The operation a request performs on a logical path, derived from its HTTP method and query.
public enum LogicalOperation: String, Sendable, Hashable, CaseIterable {
    /// `GET`.
    case read
    /// `LIST`, or `GET ?list=true`.
    case list
    /// `PUT`/`POST` on a path that does not exist (decided by the backend's existence check).
    case create
    /// `PUT`/`POST` on a path that exists.
    case update
    /// `DELETE`.
    case delete
    /// `PATCH`.
    case patch
    /// `SCAN`, or `GET ?scan=true` (OpenBao).
    case scan
    /// A help request; always allowed, as in Vault.
    case help

    /// The capability the operation needs, or `nil` for ``help``, which needs none.
    public var requiredCapability: Capability? {
        switch self {
        case .read: .read
        case .list: .list
        case .create: .create
        case .update: .update
        case .delete: .delete
        case .patch: .patch
        case .scan: .scan
        case .help: nil
        }
    }

    /// Whether Vault checks parameter constraints (`allowed_parameters`, …) for this operation.
    var checksParameters: Bool {
        switch self {
        case .read, .create, .update, .patch: true
        case .list, .delete, .scan, .help: false
        }
    }
}
