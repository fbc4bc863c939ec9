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

    /// The canonical bytes that the hash chain covers: ``SortedJSONEncoder/audit`` JSON (sorted keys, the time as
    /// ``timestamp(_:)`` writes it).
    public func canonicalBytes() throws -> [UInt8] {
        try SortedJSONEncoder.audit.encode(self)
    }

    /// Formats a time as RFC 3339 with microseconds, in UTC (`2026-11-29T10:58:56.123456Z`), floored to the
    /// microsecond. Every audit row and query bound goes through here, so the years 1970–9999 are formatted with
    /// integer arithmetic (the proleptic Gregorian calendar, as Foundation's ISO 8601 style); other instants use
    /// Foundation.
    public static func timestamp(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        guard (0..<253_402_300_800_000_000).contains(micros) else { return foundationTimestamp(micros: micros) }
        let seconds = micros / 1_000_000
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (year, month, day) = civilDate(daysSince1970: days)
        var text = [UInt8](repeating: 0, count: 27)
        func put(_ value: Int64, at offset: Int, width: Int) {
            var value = value
            for index in stride(from: offset + width - 1, through: offset, by: -1) {
                text[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, at: 0, width: 4)
        put(month, at: 5, width: 2)
        put(day, at: 8, width: 2)
        put(secondOfDay / 3600, at: 11, width: 2)
        put(secondOfDay / 60 % 60, at: 14, width: 2)
        put(secondOfDay % 60, at: 17, width: 2)
        put(micros % 1_000_000, at: 20, width: 6)
        for (offset, character) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (26, "Z")] as [(Int, Unicode.Scalar)] {
            text[offset] = UInt8(ascii: character)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Year, month and day of a day count since 1970-01-01 (non-negative), by Howard Hinnant's `civil_from_days`.
    private static func civilDate(daysSince1970: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSince1970 + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The same text through Foundation, for instants outside the fast path's range.
    private static func foundationTimestamp(micros: Int64) -> String {
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

extension SortedJSONEncoder {
    /// The encoder of everything audit: the hash chain's canonical bytes, the JSON columns and exports of audit rows,
    /// the entries sent to audit devices. Slashes are not escaped; dates are ``AuditEvent/timestamp(_:)`` strings.
    public static let audit = SortedJSONEncoder(escapesSlashes: false, dateEncoding: .text(AuditEvent.timestamp))
}
