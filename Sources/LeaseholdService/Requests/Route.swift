import LeaseholdCore
import LeaseholdPolicy

/// One API path a backend serves, with a handler per operation. Routes are data: the broker matches them,
/// checks authentication and policy, and only then calls the handler.
struct Route: Sendable {
    typealias Handler = @Sendable (OperationContext) async throws -> LogicalResponse
    typealias ExistenceCheck = @Sendable (OperationContext) async throws -> Bool

    /// How a route authenticates its callers.
    enum Authentication: Sendable {
        /// A valid token whose policies grant the operation.
        case token
        /// No token needed (login, wrapping lookup); the handler does its own checks.
        case none
    }

    let pattern: RoutePattern
    let handlers: [LogicalOperation: Handler]
    var authentication: Authentication = .token
    /// Operations that additionally need the `sudo` capability.
    var sudoOperations: Set<LogicalOperation> = []
    /// Distinguishes create from update for the ACL check; without one, writes are updates.
    var exists: ExistenceCheck?

    init(
        _ pattern: String, authentication: Authentication = .token, sudo: Set<LogicalOperation> = [],
        exists: ExistenceCheck? = nil, handlers: [LogicalOperation: Handler]
    ) {
        self.pattern = RoutePattern(pattern)
        self.authentication = authentication
        self.sudoOperations = sudo
        self.exists = exists
        self.handlers = handlers
    }
}

/// A path pattern: literal segments, `:name` for one segment, `*name` for the rest of the path (at least one
/// segment), and a trailing `?` on the last parameter to make it optional.
struct RoutePattern: Sendable {
    enum Segment: Sendable {
        case literal(String)
        case parameter(String, optional: Bool)
        case remainder(String)
    }

    let segments: [Segment]

    init(_ text: String) {
        segments = text.split(separator: "/").map { part in
            if part.hasPrefix(":") {
                let optional = part.hasSuffix("?")
                return .parameter(String(part.dropFirst().dropLast(optional ? 1 : 0)), optional: optional)
            }
            if part.hasPrefix("*") { return .remainder(String(part.dropFirst())) }
            return .literal(String(part))
        }
    }

    /// The captured parameters when `path` matches, else `nil`. A trailing slash on `path` is ignored.
    func match(_ path: String) -> [String: String]? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var captured: [String: String] = [:]
        var index = 0
        for segment in segments {
            switch segment {
            case .literal(let literal):
                guard index < parts.count, parts[index] == literal else { return nil }
                index += 1
            case .parameter(let name, let optional):
                if index < parts.count {
                    captured[name] = parts[index]
                    index += 1
                } else if !optional {
                    return nil
                }
            case .remainder(let name):
                guard index < parts.count else { return nil }
                captured[name] = parts[index...].joined(separator: "/")
                index = parts.count
            }
        }
        return index == parts.count ? captured : nil
    }
}
