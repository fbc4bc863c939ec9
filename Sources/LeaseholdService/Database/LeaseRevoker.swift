import Foundation
import LeaseholdCore
import Metrics

/// Revokes leases on their targets and records the outcome, for explicit revocation, token death, expiry
/// (the reaper) and reconciliation alike.
struct LeaseRevoker: Sendable {
    let services: BrokerServices

    /// The longest wait between two revocation attempts of one lease during its first hour of failures: short, so a
    /// target that comes back after an outage is cleaned up within seconds.
    static let maximumBackoff: TimeInterval = 15
    /// The wait between attempts once a lease has failed for about an hour (a decommissioned target, a role no
    /// longer the broker's): retried forever, but no longer filling the audit table with a row every 15 s.
    static let persistentFailureBackoff: TimeInterval = 600

    /// The wait before the next attempt after `attempts` failed ones (before jitter): doubling from 2 s up to
    /// ``maximumBackoff``, and ``persistentFailureBackoff`` after 240 attempts.
    static func retryDelay(afterAttempts attempts: Int) -> TimeInterval {
        attempts > 240 ? persistentFailureBackoff : min(maximumBackoff, pow(2, Double(min(attempts, 16))))
    }

    /// What happened to one lease.
    enum Result: Sendable, Equatable {
        /// The user is gone and the lease removed.
        case revoked
        /// The target refused or failed; the lease stays, with the attempt recorded and a retry scheduled.
        case retrying(reason: String)
    }

    /// Revokes `lease`'s user and removes the lease in one commit with an audit row of `eventType`
    /// (`lease.revoke`, `lease.expire`, …). A failure is recorded on the lease (attempts, reason, next retry with
    /// capped exponential backoff and jitter) and audited as `lease.revoke_failed`; retries never stop.
    func revoke(
        _ lease: Versioned<Lease>, eventType: String, now: Date, actor: AuditActor, requestID: String = "",
        remoteAddress: String = ""
    ) async throws -> Result {
        let outcome: RevocationOutcome
        do {
            outcome = try await revokeOnTarget(lease.value)
        } catch {
            return try await recordFailure(lease, reason: (error as? LeaseholdError)?.message ?? "the target failed", now: now, actor: actor)
        }
        if case .disabledOnly(let reason) = outcome {
            return try await recordFailure(lease, reason: "login disabled but the role could not be dropped: \(reason)", now: now, actor: actor)
        }
        let transaction = StoreTransaction(store: services.store)
        services.leases.remove(lease, in: transaction)
        var event = LeaseAudit.event(
            lease.value.state == .pending ? LeaseEventType.failed : eventType, lease: lease.value, time: now, requestID: requestID,
            actor: actor, remoteAddress: remoteAddress)
        event.details["outcome"] = outcome == .alreadyAbsent ? "already absent" : "dropped"
        if lease.value.state == .pending { event.details["reason"] = "issuance did not complete; the user was removed" }
        try await services.commit(transaction.batch(appending: event))
        Counter(label: "leasehold_leases_revoked_total", dimensions: [("reason", event.type)]).increment()
        return .revoked
    }

    /// Forgets a lease without touching the target (`revoke-force`).
    func forget(_ lease: Versioned<Lease>, now: Date, actor: AuditActor, requestID: String, in transaction: StoreTransaction) {
        services.leases.remove(lease, in: transaction)
        var event = LeaseAudit.event(LeaseEventType.force, lease: lease.value, time: now, requestID: requestID, actor: actor)
        event.details["warning"] = "forgotten without revocation; the database user may remain"
        transaction.record(event)
    }

    private func revokeOnTarget(_ lease: Lease) async throws -> RevocationOutcome {
        let key = StoreKey(.databaseConnections, lease.mount + lease.connection)
        guard let connection = try await services.store.read(DatabaseConnection.self, at: key) else {
            throw LeaseholdError(.internalError, "connection \(lease.connection) no longer exists")
        }
        let engine = try await services.engine(key: key.description, connection: connection)
        return try await engine.revokeUser(try DatabaseUsername(lease.username), statements: lease.revocationStatements)
    }

    private func recordFailure(_ lease: Versioned<Lease>, reason: String, now: Date, actor: AuditActor) async throws -> Result {
        var updated = lease.value
        updated.revokeAttempts += 1
        updated.lastRevokeError = String(reason.prefix(240))
        updated.scheduledTime = now.addingTimeInterval(Self.retryDelay(afterAttempts: updated.revokeAttempts) * Double.random(in: 0.75...1.25))
        let transaction = StoreTransaction(store: services.store)
        try services.leases.update(lease, to: updated, in: transaction)
        var event = LeaseAudit.event(LeaseEventType.revokeFailed, lease: updated, time: now, actor: actor)
        event.outcome = "error"
        event.details["reason"] = updated.lastRevokeError
        event.details["attempts"] = String(updated.revokeAttempts)
        try await services.commit(transaction.batch(appending: event))
        Counter(label: "leasehold_revocation_failures_total").increment()
        return .retrying(reason: updated.lastRevokeError ?? "")
    }
}
