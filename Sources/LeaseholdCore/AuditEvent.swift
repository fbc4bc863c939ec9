import Foundation

/// What happened in one audited step, before the store places it in the hash chain.
///
/// Never put secret material here: tokens appear only as keyed hashes (`tokenHMAC`).
public struct AuditEvent: Sendable, Hashable, Codable {
    /// When the step happened.
    public var time: Date
    /// The request id returned to the client (empty for background work such as the reaper).
    public var requestID: String
    /// The event type, for example `request`, `lease.issue`, `lease.revoke`, `lease.expire`.
    public var type: String
    /// The logical operation: `read`, `update`, `delete`, `list`, …
    public var operation: String
    /// The API path, without the `/v1/` prefix.
    public var path: String
    /// The caller's identity.
    public var actor: AuditActor
    /// The client's address as seen by the listener.
    public var remoteAddress: String
    /// `allowed`, `denied` or `error`.
    public var outcome: String
    /// The error class (a ``LeaseholdError/Code`` name) for failed requests.
    public var errorClass: String?
    /// The environment the identity belongs to.
    public var environment: String
    /// Event-specific, secret-free details (database username, role, lease id, …).
    public var details: [String: String]

    /// Creates an event.
    public init(
        time: Date, requestID: String, type: String, operation: String, path: String, actor: AuditActor,
        remoteAddress: String, outcome: String, errorClass: String? = nil, environment: String = "default",
        details: [String: String] = [:]
    ) {
        self.time = time
        self.requestID = requestID
        self.type = type
        self.operation = operation
        self.path = path
        self.actor = actor
        self.remoteAddress = remoteAddress
        self.outcome = outcome
        self.errorClass = errorClass
        self.environment = environment
        self.details = details
    }

    /// The canonical bytes that the hash chain covers: sorted-key JSON with second-precision ISO 8601 time.
    public func canonicalBytes() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(AuditEvent.timestamp(date))
        }
        return try encoder.encode(self)
    }

    /// Formats a time as RFC 3339 with microseconds, in UTC.
    public static func timestamp(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        let seconds = Date(timeIntervalSince1970: TimeInterval(micros / 1_000_000))
        var formatted = seconds.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon))
        if formatted.hasSuffix("Z") { formatted.removeLast() }
        return formatted + String(format: ".%06lldZ", micros % 1_000_000)
    }
}

/// Who made an audited request, without any secret material.
public struct AuditActor: Sendable, Hashable, Codable {
    /// The token's accessor (not secret), empty when unauthenticated.
    public var accessor: String
    /// HMAC-SHA256 of the client token under the installation's audit key (hex), empty when none.
    public var tokenHMAC: String
    /// The token's display name.
    public var displayName: String
    /// The token's policies.
    public var policies: [String]
    /// The auth method that issued the token (`token`, `approle`, …).
    public var authMethod: String

    /// Creates an actor.
    public init(accessor: String = "", tokenHMAC: String = "", displayName: String = "", policies: [String] = [], authMethod: String = "") {
        self.accessor = accessor
        self.tokenHMAC = tokenHMAC
        self.displayName = displayName
        self.policies = policies
        self.authMethod = authMethod
    }

    /// An unauthenticated caller.
    public static let anonymous = AuditActor()
}

/// An audit event as stored: its place in the chain and the chain hashes.
public struct AuditRecord: Sendable, Hashable {
    /// Position in the chain, starting at 1, without gaps.
    public var sequence: Int64
    /// The event.
    public var event: AuditEvent
    /// The hash of the previous record (32 zero bytes for the first).
    public var previousHash: Data
    /// SHA-256 over `previousHash || sequence (8 bytes big-endian) || event.canonicalBytes()`.
    public var hash: Data

    /// Creates a record.
    public init(sequence: Int64, event: AuditEvent, previousHash: Data, hash: Data) {
        self.sequence = sequence
        self.event = event
        self.previousHash = previousHash
        self.hash = hash
    }
}
