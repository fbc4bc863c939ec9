import Foundation
import LeaseholdAuditChain
import LeaseholdCore

/// The auditors' API, `sys/audit-log/…` (distinct from Vault's `sys/audit` device endpoints): filtered queries
/// with cursors, lease timelines, "who held database user X at time T", chain verification and signed
/// checkpoints. Guarded by policy like every path; see `docs/auditing.md` for the example `auditor` policy.
enum AuditLogBackend {
    static let routes: [Route] = [
        Route("sys/audit-log", handlers: [.read: query]),
        Route("sys/audit-log/lease", handlers: [.read: leaseTimeline]),
        Route("sys/audit-log/holder", handlers: [.read: holder]),
        Route("sys/audit-log/active", handlers: [.read: activeLeases]),
        Route("sys/audit-log/verify", handlers: [.read: verify]),
        Route("sys/audit-log/checkpoint", sudo: [.update, .create], handlers: [.update: checkpoint]),
    ]

    /// Detail filters accepted as query parameters (`username` is an alias of `db_username`).
    static let detailFilters = ["lease_id", "db_username", "role", "connection", "mount"]

    // MARK: Query

    /// Builds an ``AuditQuery`` from request parameters; returns it with the page size.
    static func auditQuery(from data: RequestData) throws -> (AuditQuery, Int) {
        var query = AuditQuery()
        query.since = try time(data, "since")
        query.until = try time(data, "until")
        if let types = try data.string("type"), !types.isEmpty {
            query.types = types.split(separator: ",").map { $0.trimmingWhitespace() }
        }
        query.outcome = try data.string("outcome")
        query.environment = try data.string("environment")
        query.accessor = try data.string("accessor")
        query.displayName = try data.string("display_name")
        query.authMethod = try data.string("auth_method")
        query.path = try data.string("path")
        for name in detailFilters {
            if let value = try data.string(name), !value.isEmpty { query.details[name] = value }
        }
        if let username = try data.string("username"), !username.isEmpty { query.details["db_username"] = username }
        query.after = try data.int("after").map(Int64.init)
        query.before = try data.int("before").map(Int64.init)
        switch try data.string("order") ?? "asc" {
        case "asc": query.newestFirst = false
        case "desc": query.newestFirst = true
        default: throw LeaseholdError.invalidRequest("order must be asc or desc")
        }
        let limit = try data.int("limit") ?? 100
        guard (1...1000).contains(limit) else { throw LeaseholdError.invalidRequest("limit must be between 1 and 1000") }
        try query.validate()
        return (query, limit)
    }

    /// RFC 3339 text or Unix seconds, from 1970 to the end of year 9999 (`nan`, `inf` and `1e300` are refused
    /// here: converted to the stores' integer microseconds they would trap).
    static func time(_ data: RequestData, _ name: String) throws -> Date? {
        guard let text = try data.string(name), !text.isEmpty else { return nil }
        let date: Date? =
            if let seconds = Double(text) { Date(timeIntervalSince1970: seconds) }
            else if let parsed = AuditTimestamp.date(from: text) { parsed }
            else if let parsed = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { parsed }
            else { try? Date.ISO8601FormatStyle().parse(text) }
        guard let date, (0...253_402_300_799).contains(date.timeIntervalSince1970) else {
            throw LeaseholdError.invalidRequest("\(name) must be RFC 3339 or Unix seconds between 1970 and 9999")
        }
        return date
    }

    static func json(_ record: AuditRecord) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(AuditRecordDocument(record)))
    }

    static func query(_ context: OperationContext) async throws -> LogicalResponse {
        let (query, limit) = try auditQuery(from: context.data)
        let records = try await context.services.store.base.auditRecords(matching: query, limit: limit)
        return LogicalResponse(data: [
            "records": .array(try records.map(json)),
            "next_cursor": records.count == limit ? .int(Int(records[records.count - 1].sequence)) : .null,
        ])
    }

    // MARK: Leases

    /// The records of one lease, oldest first (at most ``LeaseHistory/eventLimit``), with its ending and its
    /// newest record read on their own, so a lease renewed a thousand times still shows how and when it ended.
    static func history(of leaseID: String, context: OperationContext) async throws -> LeaseHistory {
        let store = context.services.store.base
        var query = AuditQuery()
        query.details = ["lease_id": leaseID]
        let records = try await store.auditRecords(matching: query, limit: LeaseHistory.eventLimit)
        var newest = query
        newest.newestFirst = true
        var ending = query
        ending.types = Array(LeaseEventType.endings)
        return LeaseHistory(
            records: records, end: try await store.auditRecords(matching: ending, limit: 1).first,
            latest: try await store.auditRecords(matching: newest, limit: 1).first)
    }

    /// The summary an auditor asks for, and every record.
    static func timeline(_ history: LeaseHistory) throws -> LogicalResponse {
        guard !history.records.isEmpty else { throw LeaseholdError.notFound }
        return LogicalResponse(data: history.summary.merging(["events": .array(try history.records.map(json))]) { $1 })
    }

    static func leaseTimeline(_ context: OperationContext) async throws -> LogicalResponse {
        try timeline(try await history(of: try context.data.requiredString("lease_id"), context: context))
    }

    /// The lease that held database user `db_username` at `time` (default now), with its timeline.
    static func holder(_ context: OperationContext) async throws -> LogicalResponse {
        let username = try context.data.string("db_username") ?? context.data.requiredString("username")
        let instant = try time(context.data, "time") ?? context.now
        var query = AuditQuery()
        query.types = [LeaseEventType.issue]
        query.details = ["db_username": username]
        query.includeThrough(instant)
        query.newestFirst = true
        guard let issued = try await context.services.store.base.auditRecords(matching: query, limit: 1).first,
            let leaseID = issued.event.details["lease_id"]
        else { throw LeaseholdError(.notFound, "no lease held database user \(username.prefix(128)) at that time") }
        let history = try await history(of: leaseID, context: context)
        if let ended = history.endTime, ended <= instant {
            throw LeaseholdError(.notFound, "no lease held database user \(username.prefix(128)) at that time")
        }
        return try timeline(history)
    }

    /// The leases that hold a database user now (optionally of one role or environment), at most 1,000.
    static func activeLeases(_ context: OperationContext) async throws -> LogicalResponse {
        let role = try context.data.string("role").flatMap { $0.isEmpty ? nil : $0 }
        let environment = try context.data.string("environment").flatMap { $0.isEmpty ? nil : $0 }
        var leases: [JSONValue] = []
        for id in try await context.services.leases.ids(withPrefix: "") where leases.count < 1000 {
            guard let lease = try await context.services.leases.lease(id)?.value, lease.state == .active,
                role.map({ $0 == lease.role }) ?? true, environment.map({ $0 == lease.environment }) ?? true
            else { continue }
            leases.append([
                "lease_id": .string(lease.id), "db_username": .string(lease.username), "role": .string(lease.role),
                "connection": .string(lease.connection), "mount": .string(lease.mount), "environment": .string(lease.environment),
                "display_name": .string(lease.requester.displayName), "auth_method": .string(lease.requester.authMethod),
                "issued_at": .string(AuditEvent.timestamp(lease.issueTime)), "expire_time": .string(AuditEvent.timestamp(lease.expireTime)),
            ])
        }
        return LogicalResponse(data: ["leases": .array(leases)])
    }

    // MARK: Integrity

    static func verify(_ context: OperationContext) async throws -> LogicalResponse {
        let report = try await AuditTrail(services: context.services).verify()
        let value = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(report))
        return LogicalResponse(data: value.objectValue ?? [:])
    }

    static func checkpoint(_ context: OperationContext) async throws -> LogicalResponse {
        let actor = AuditRecorder.actor(for: context.caller?.value, token: nil, hasher: context.services.keys.auditHasher)
        let trail = AuditTrail(services: context.services)
        let made = try await trail.checkpoint(now: context.now, actor: actor, requestID: context.request.requestID)
        guard let made else { return LogicalResponse(data: ["created": false, "public_key": .string(try await trail.publicKey())]) }
        return LogicalResponse(data: [
            "created": true, "sequence": .int(Int(made.sequence)), "hash": .string(made.hash), "time": .string(made.time),
            "public_key": .string(made.publicKey), "signature": .string(made.signature),
        ])
    }
}

/// The story of one lease told by its audit records.
struct LeaseHistory {
    /// The most records a timeline lists.
    static let eventLimit = 1000

    /// The oldest records, at most ``eventLimit``.
    let records: [AuditRecord]
    /// The record that ended the lease, if any (wherever it is in the history).
    let end: AuditRecord?
    /// The lease's newest record.
    let latest: AuditRecord?

    var issue: AuditRecord? { records.first { $0.event.type == LeaseEventType.issue } }
    var endTime: Date? { end?.event.time }

    var summary: [String: JSONValue] {
        let first = issue ?? records[0]
        let details = first.event.details
        func time(_ record: AuditRecord?) -> JSONValue { record.map { .string(AuditEvent.timestamp($0.event.time)) } ?? .null }
        return [
            "lease_id": .string(details["lease_id"] ?? ""), "db_username": .string(details["db_username"] ?? ""),
            "role": .string(details["role"] ?? ""), "connection": .string(details["connection"] ?? ""),
            "mount": .string(details["mount"] ?? ""), "environment": .string(first.event.environment),
            "identity": [
                "display_name": .string(first.event.actor.displayName), "accessor": .string(first.event.actor.accessor),
                "auth_method": .string(first.event.actor.authMethod), "policies": .strings(first.event.actor.policies),
            ],
            "issued_at": time(issue), "ended_at": time(end), "ended_by": end.map { .string($0.event.type) } ?? .null,
            "renewals": .int(records.filter { $0.event.type == LeaseEventType.renew }.count),
            "failed_revocations": .int(records.filter { $0.event.type == LeaseEventType.revokeFailed }.count),
            "expire_time": .string((latest ?? records.last)?.event.details["expire_time"] ?? ""),
            "events_truncated": .bool(records.count == Self.eventLimit && records.last?.sequence != latest?.sequence),
        ]
    }
}
