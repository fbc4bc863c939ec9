import Foundation

/// A filter over the audit table: every set field must match (AND); `nil` or empty means "any".
///
/// Field values are always bound as query parameters, never spliced into SQL. Detail keys (which name JSON
/// members) and event types are restricted to `[a-z0-9_.]` (types may end with `*` for a prefix, e.g. `lease.*`).
public struct AuditQuery: Sendable, Hashable {
    /// Only records with a sequence greater than this (the cursor of the previous page, oldest-first order).
    public var after: Int64?
    /// Only records with a sequence lower than this (the cursor of the previous page, newest-first order).
    public var before: Int64?
    /// Newest first instead of oldest first.
    public var newestFirst = false
    /// Only records at or after this time.
    public var since: Date?
    /// Only records before this time.
    public var until: Date?
    /// Event types (`request`, `lease.issue`, or a prefix such as `lease.*`); any of them matches.
    public var types: [String] = []
    /// `allowed`, `denied` or `error`.
    public var outcome: String?
    /// The identity's environment.
    public var environment: String?
    /// The token accessor of the actor.
    public var accessor: String?
    /// The actor's display name.
    public var displayName: String?
    /// The auth method that issued the actor's token.
    public var authMethod: String?
    /// The API path (exact).
    public var path: String?
    /// Exact matches on event details: `lease_id`, `db_username`, `role`, `connection`, `mount`, …
    public var details: [String: String] = [:]

    /// An empty filter (every record, oldest first).
    public init() {}

    /// Sets ``until`` so that records at `instant` are included, and nothing later. Audit times are floored to
    /// whole microseconds (``AuditEvent/timestamp(_:)``), so the bound is the microsecond after the instant's,
    /// taken half a microsecond in so that flooring lands on it despite the binary representation of `Date`.
    public mutating func includeThrough(_ instant: Date) {
        let micros = (instant.timeIntervalSince1970 * 1_000_000).rounded(.down)
        until = Date(timeIntervalSince1970: (micros + 1.5) / 1_000_000)
    }

    /// Throws when a detail key or a type is outside the allowed alphabet.
    public func validate() throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_.")
        for key in details.keys where key.isEmpty || key.count > 64 || !key.allSatisfy(allowed.contains) {
            throw LeaseholdError.invalidRequest("invalid detail filter name")
        }
        for type in types {
            let body = type.hasSuffix("*") ? String(type.dropLast()) : type
            guard !type.isEmpty, type.count <= 64, body.allSatisfy(allowed.contains) else {
                throw LeaseholdError.invalidRequest("invalid event type filter")
            }
        }
    }
}
