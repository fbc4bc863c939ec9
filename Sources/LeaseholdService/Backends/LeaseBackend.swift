import Foundation
import LeaseholdCore
import LeaseholdPolicy
import Metrics

/// `sys/leases/*`: lookup, renew, revoke (one, by prefix, forced), listing and counts.
enum LeaseBackend {
    static let routes: [Route] = [
        Route("sys/leases", sudo: [.read], handlers: [.read: listByType]),
        Route("sys/leases/lookup", sudo: [.list], handlers: [.update: lookup, .list: listPrefix]),
        Route("sys/leases/lookup/*prefix", sudo: [.list], handlers: [.list: listPrefix]),
        Route("sys/leases/renew", handlers: [.update: renew]),
        Route("sys/leases/renew/*id", handlers: [.update: renew]),
        Route("sys/leases/revoke", handlers: [.update: revoke]),
        Route("sys/leases/revoke/*id", handlers: [.update: revoke]),
        Route("sys/leases/revoke-prefix/*prefix", sudo: [.update, .create], handlers: [.update: revokePrefix]),
        Route("sys/leases/revoke-force/*prefix", sudo: [.update, .create], handlers: [.update: revokeForce]),
        Route("sys/leases/count", sudo: [.read], handlers: [.read: count]),
        Route("sys/leases/tidy", handlers: [.update: tidy]),
        Route("sys/leases/reconcile", sudo: [.update, .create], handlers: [.update: reconcile]),
    ]

    static let invalidLease = LeaseholdError.invalidRequest("invalid lease")

    /// The lease named by the path or the body, visible to the caller (same environment unless root).
    static func visibleLease(_ context: OperationContext) async throws -> Versioned<Lease> {
        let id = try context.parameters["id"] ?? context.data.requiredString("lease_id")
        guard let lease = try await context.services.leases.lease(id), lease.value.state == .active else { throw invalidLease }
        let caller = try context.requireCaller().value
        guard caller.isRoot || caller.environment == lease.value.environment else { throw invalidLease }
        return lease
    }

    static func lookup(_ context: OperationContext) async throws -> LogicalResponse {
        let lease = try await visibleLease(context).value
        let formatter = ISO8601DateFormatter.fractional
        return LogicalResponse(data: [
            "id": .string(lease.id), "issue_time": .string(formatter.string(from: lease.issueTime)),
            "expire_time": .string(formatter.string(from: lease.expireTime)),
            "last_renewal": lease.lastRenewalTime.map { .string(formatter.string(from: $0)) } ?? .null,
            "renewable": true, "ttl": .int(Int(lease.remainingSeconds(at: context.now))),
            "path": .string(lease.mount + "creds/" + lease.role), "db_username": .string(lease.username),
            "environment": .string(lease.environment), "revoke_error": lease.lastRevokeError.map(JSONValue.string) ?? .null,
        ])
    }

    static func renew(_ context: OperationContext) async throws -> LogicalResponse {
        let stored = try await visibleLease(context)
        var lease = stored.value
        guard lease.expireTime > context.now else { throw LeaseholdError.invalidRequest("lease expired") }
        guard !lease.isBeingRevoked else { throw LeaseholdError.invalidRequest("lease is being revoked and cannot be renewed") }
        let original = max(1, lease.expireTime.timeIntervalSince(lease.lastRenewalTime ?? lease.issueTime))
        let increment = try context.data.ttl("increment").flatMap { $0.isZero ? nil : TimeInterval($0.seconds) } ?? original
        // As in Vault, the role and mount are read again: a deleted role renews nothing, and a lowered maximum
        // shortens the leases already issued.
        guard let role = try await context.services.store.read(DatabaseRole.self, at: StoreKey(.databaseRoles, lease.mount + lease.role))?.value,
            let mount = try await context.services.mounts.engine(owning: lease.mount)
        else { throw LeaseholdError.invalidRequest("the lease's role no longer exists; it cannot be renewed") }
        let maximum = min(
            lease.maximumExpireTime,
            lease.issueTime.addingTimeInterval(TimeInterval(CredentialIssuer.maximumTTL(role: role, mount: mount, limits: context.services.limits))))
        var warnings: [String] = []
        var newExpiry = context.now.addingTimeInterval(increment)
        if newExpiry > maximum {
            newExpiry = maximum
            let granted = TTL(seconds: max(0, Int64(newExpiry.timeIntervalSince(context.now))))
            warnings.append(
                "TTL of \"\(TTL(seconds: Int64(increment)))\" exceeded the effective max_ttl of \"\(granted)\"; TTL value is capped accordingly (expires at \(ISO8601DateFormatter().string(from: newExpiry)))")
        }
        guard newExpiry > context.now else { throw LeaseholdError.invalidRequest("lease is past its maximum TTL and cannot be renewed") }
        let key = StoreKey(.databaseConnections, lease.mount + lease.connection)
        guard let connection = try await context.services.store.read(DatabaseConnection.self, at: key) else {
            throw LeaseholdError(.internalError, "the lease's connection no longer exists")
        }
        let engine = try await context.services.engine(key: key.description, connection: connection)
        try await engine.renewUser(try DatabaseUsername(lease.username), until: newExpiry, statements: lease.renewStatements)
        lease.expireTime = newExpiry
        lease.lastRenewalTime = context.now
        lease.scheduledTime = newExpiry
        try context.services.leases.update(stored, to: lease, in: context.transaction)
        context.transaction.record(LeaseAudit.event(LeaseEventType.renew, lease: lease, context: context))
        context.transaction.annotate("lease_id", lease.id)
        Counter(label: "leasehold_leases_renewed_total").increment()
        return LogicalResponse(
            warnings: warnings, leaseID: lease.id, leaseDuration: lease.remainingSeconds(at: context.now), renewable: true)
    }

    static func actor(_ context: OperationContext) -> AuditActor {
        AuditRecorder.actor(for: context.caller?.value, token: nil, hasher: context.services.keys.auditHasher)
    }

    static func revoke(_ context: OperationContext) async throws -> LogicalResponse {
        let id = try context.parameters["id"] ?? context.data.requiredString("lease_id")
        // One lease is revoked synchronously whatever `sync` asks: the answer comes once the user is gone.
        _ = try context.data.bool("sync")
        guard let lease = try await context.services.leases.lease(id) else { return .noContent }
        let caller = try context.requireCaller().value
        guard caller.isRoot || caller.environment == lease.value.environment else { throw invalidLease }
        let result = try await LeaseRevoker(services: context.services).revoke(
            lease, eventType: LeaseEventType.revoke, now: context.now, actor: actor(context), requestID: context.request.requestID,
            remoteAddress: context.request.remoteAddress)
        context.transaction.annotate("lease_id", id)
        if case .retrying(let reason) = result {
            throw LeaseholdError(.internalError, "failed to revoke the lease (it will be retried): \(reason)")
        }
        return .noContent
    }

    /// Lease ids under a prefix the caller may touch.
    static func leases(under context: OperationContext) async throws -> [Versioned<Lease>] {
        var prefix = try context.parameter("prefix")
        // As in Vault, `database/creds/read` means the directory `read/`, never `readonly/`, unless it is a lease id.
        if try await context.services.leases.lease(prefix) == nil, !prefix.hasSuffix("/") { prefix += "/" }
        let caller = try context.requireCaller().value
        var result: [Versioned<Lease>] = []
        for id in try await context.services.leases.ids(withPrefix: prefix) {
            guard let lease = try await context.services.leases.lease(id),
                caller.isRoot || caller.environment == lease.value.environment
            else { continue }
            result.append(lease)
        }
        return result
    }

    static func revokePrefix(_ context: OperationContext) async throws -> LogicalResponse {
        let found = try await leases(under: context)
        context.transaction.annotate("lease_count", String(found.count))
        // Issuances still running are cancelled, not revoked: their users may not exist yet.
        for pending in found where pending.value.state == .pending {
            try context.services.leases.cancelIssuance(of: pending, in: context.transaction)
        }
        let targets = found.filter { $0.value.state == .active }
        guard try context.data.bool("sync") ?? true else {
            // Asynchronous: schedule every lease now and let the reaper revoke them.
            for lease in targets {
                var updated = lease.value
                updated.scheduledTime = min(updated.scheduledTime, context.now)
                try context.services.leases.update(lease, to: updated, in: context.transaction)
            }
            context.services.reaperSignal.wake()
            return LogicalResponse(warnings: ["revocation of \(targets.count) leases was queued"], status: 202)
        }
        let revoker = LeaseRevoker(services: context.services)
        let actor = actor(context)
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            var failures = 0
            var iterator = targets.makeIterator()
            func addNext() -> Bool {
                guard let lease = iterator.next() else { return false }
                group.addTask {
                    try await revoker.revoke(lease, eventType: LeaseEventType.revoke, now: context.now, actor: actor, requestID: context.request.requestID) == .revoked
                }
                return true
            }
            // Up to 64 at once: the engine drops concurrent revocations of one target together.
            for _ in 0..<64 where addNext() {}
            while let revoked = try await group.next() {
                if !revoked { failures += 1 }
                _ = addNext()
            }
            return failures
        }
        guard failures == 0 else {
            throw LeaseholdError(.internalError, "\(failures) of \(targets.count) leases could not be revoked yet; they will be retried")
        }
        return .noContent
    }

    static func revokeForce(_ context: OperationContext) async throws -> LogicalResponse {
        let revoker = LeaseRevoker(services: context.services)
        for lease in try await leases(under: context) {
            revoker.forget(lease, now: context.now, actor: actor(context), requestID: context.request.requestID, in: context.transaction)
        }
        return .noContent
    }

    static func listPrefix(_ context: OperationContext) async throws -> LogicalResponse {
        var prefix = context.parameters["prefix"] ?? ""
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        let caller = try context.requireCaller().value
        var keys: [String] = []
        for id in try await context.services.leases.ids(withPrefix: prefix) {
            // Another environment's leases are not listed, not even their ids (root excepted).
            if !caller.isRoot, try await context.services.leases.lease(id)?.value.environment != caller.environment { continue }
            let rest = id.dropFirst(prefix.count)
            let entry = rest.firstIndex(of: "/").map { String(rest[...$0]) } ?? String(rest)
            if keys.last != entry { keys.append(entry) }
        }
        guard !keys.isEmpty else { throw LeaseholdError.notFound }
        return LogicalResponse(data: ["keys": .strings(keys)])
    }

    static func count(_ context: OperationContext) async throws -> LogicalResponse {
        guard let type = try context.data.string("type") else { throw LeaseholdError.notFound }
        let ids: [String]
        switch type {
        case "irrevocable": ids = try await context.services.store.base.allKeys(in: .leaseFailures)
        case "active", "all": ids = try await context.services.leases.ids(withPrefix: "")
        default: throw LeaseholdError.invalidRequest("type must be irrevocable or active")
        }
        var counts: [String: Int] = [:]
        for id in ids {
            let mount = id.split(separator: "/").first.map { String($0) + "/" } ?? ""
            counts[mount, default: 0] += 1
        }
        return LogicalResponse(data: ["counts": .object(counts.mapValues { .int($0) }), "lease_count": .int(ids.count)])
    }

    static func listByType(_ context: OperationContext) async throws -> LogicalResponse {
        guard try context.data.string("type") == "irrevocable" else { throw LeaseholdError.unsupportedOperation }
        let limit = min(try context.data.int("limit") ?? 10_000, 10_000)
        var leases: [JSONValue] = []
        let caller = try context.requireCaller().value
        for id in try await context.services.store.base.keys(in: .leaseFailures, prefix: "", after: nil, limit: limit) {
            guard let lease = try await context.services.leases.lease(id)?.value,
                caller.isRoot || lease.environment == caller.environment
            else { continue }
            leases.append([
                "lease_id": .string(lease.id), "db_username": .string(lease.username),
                "attempts": .int(lease.revokeAttempts), "error": .string(lease.lastRevokeError ?? ""),
                "next_attempt": .string(ISO8601DateFormatter().string(from: lease.scheduledTime)),
                "expire_time": .string(ISO8601DateFormatter().string(from: lease.expireTime)),
            ])
        }
        return LogicalResponse(data: ["lease_count": .int(leases.count), "leases": .array(leases)])
    }

    /// Leasehold extension: compares the targets' managed users with the leases and revokes the orphans.
    static func reconcile(_ context: OperationContext) async throws -> LogicalResponse {
        let dryRun = try context.data.bool("dry_run") ?? false
        let report = try await Reconciler(services: context.services).reconcile(
            dryRun: dryRun, now: context.now, actor: actor(context), requestID: context.request.requestID)
        context.transaction.annotate("orphans", String(report.orphans.count))
        return LogicalResponse(data: report.json)
    }

    static func tidy(_ context: OperationContext) async throws -> LogicalResponse {
        context.services.reaperSignal.wake()
        return LogicalResponse(warnings: ["Tidy operation successfully started. Any information from the operation will be printed to the server logs."], status: 202)
    }
}
