import Foundation
import LeaseholdCore

/// Lease persistence: the lease rows and the indexes kept consistent with them in the same batch.
public struct LeaseStore: Sendable {
    let store: EncryptedStore

    /// The reaper's index of leases by scheduled time.
    static let schedule = TimeIndex(namespace: .leaseSchedule)

    /// The reaper-index key of a lease.
    static func scheduleKey(for lease: Lease) -> StoreKey {
        schedule.key(at: lease.scheduledTime, id: lease.id)
    }

    /// Reads a lease.
    public func lease(_ id: String) async throws -> Versioned<Lease>? {
        guard !id.isEmpty, id.utf8.count <= 512 else { return nil }
        return try await store.read(Lease.self, at: StoreKey(.leases, id))
    }

    /// Stages a new lease (which must not exist) with its indexes.
    func insert(_ lease: Lease, in transaction: StoreTransaction) throws {
        try transaction.put(lease, at: StoreKey(.leases, lease.id), condition: .absent)
        try transaction.put(true, at: Self.scheduleKey(for: lease))
        if let tokenHash = lease.tokenHash {
            try transaction.put(true, at: StoreKey(.tokenLeases, "\(tokenHash)/\(lease.id)"))
        }
        if let identityIndex = lease.identityIndex {
            try transaction.put(true, at: StoreKey(.leaseIdentities, identityIndex), condition: .absent)
        }
    }

    /// Stages an update of `previous` to `lease`, moving its schedule entry and failure marker.
    func update(_ previous: Versioned<Lease>, to lease: Lease, in transaction: StoreTransaction) throws {
        try transaction.put(lease, at: StoreKey(.leases, lease.id), condition: .version(previous.version))
        let oldKey = Self.scheduleKey(for: previous.value)
        let newKey = Self.scheduleKey(for: lease)
        if oldKey != newKey {
            transaction.delete(oldKey)
            try transaction.put(true, at: newKey)
        }
        if lease.revokeAttempts > 0 {
            try transaction.put(true, at: StoreKey(.leaseFailures, lease.id))
        }
    }

    /// Stages the removal of a lease and every index entry that names it.
    func remove(_ lease: Versioned<Lease>, in transaction: StoreTransaction) {
        transaction.delete(StoreKey(.leases, lease.value.id), condition: .version(lease.version))
        transaction.delete(Self.scheduleKey(for: lease.value))
        transaction.delete(StoreKey(.leaseFailures, lease.value.id))
        transaction.delete(StoreKey(.leaseSecrets, lease.value.id))
        if let tokenHash = lease.value.tokenHash {
            transaction.delete(StoreKey(.tokenLeases, "\(tokenHash)/\(lease.value.id)"))
        }
        if let requestKey = lease.value.requestKey {
            transaction.delete(StoreKey(.leaseRequestKeys, Self.requestKeyIndex(for: lease.value, key: requestKey)))
        }
        if let identityIndex = lease.value.identityIndex {
            transaction.delete(StoreKey(.leaseIdentities, identityIndex))
        }
    }

    /// The prefix of the per-identity index under which the leases of one identity on one role are kept.
    static func identityIndexPrefix(mount: String, role: String, identityHash: String) -> String {
        "\(mount)\(role)/\(identityHash)/"
    }

    /// The start of every lease id of `role` on `mount`.
    static func idPrefix(mount: String, role: String) -> String {
        "\(mount)creds/\(role)/"
    }

    /// How many leases `role` on `mount` has, counted up to `limit` (reads at most `limit` keys).
    func count(mount: String, role: String, upTo limit: Int) async throws -> Int {
        try await store.base.countKeys(in: .leases, prefix: Self.idPrefix(mount: mount, role: role), upTo: limit)
    }

    /// How many leases are indexed under `identityPrefix` (``identityIndexPrefix(mount:role:identityHash:)``),
    /// counted up to `limit`.
    func count(identityPrefix: String, upTo limit: Int) async throws -> Int {
        try await store.base.countKeys(in: .leaseIdentities, prefix: identityPrefix, upTo: limit)
    }

    /// The leases whose scheduled time is at or before `now`, earliest first, at most `limit`.
    /// Complexity: O(log n + k) through the schedule index; never reads leases that are not due.
    func due(at now: Date, limit: Int) async throws -> [String] {
        try await Self.schedule.due(at: now, limit: limit, in: store.base).map(\.id)
    }

    /// The earliest scheduled time, if any lease is scheduled.
    func nextScheduledTime() async throws -> Date? {
        try await Self.schedule.earliest(in: store.base)
    }

    /// Lease ids under a prefix of the lease id space (for `revoke-prefix` and listing).
    func ids(withPrefix prefix: String) async throws -> [String] {
        try await store.base.allKeys(in: .leases, prefix: prefix)
    }

    /// Stages a rewrite of a pending lease (its issuance still running) that changes only its version: the
    /// issuance's final commit then conflicts, so its credential is never returned, and the reaper removes the user
    /// at the pending deadline. A pending lease is never revoked at once: its user may not exist yet, and would be
    /// created after the revocation.
    func cancelIssuance(of pending: Versioned<Lease>, in transaction: StoreTransaction) throws {
        try update(pending, to: pending.value, in: transaction)
    }

    /// Stages the immediate revocation of every lease owned by a token (unless its role lets it outlive tokens,
    /// in which case ownership simply ends).
    ///
    /// A pending lease loses its owner and its issuance is cancelled (``cancelIssuance(of:in:)``).
    func scheduleRevocation(ofLeasesOwnedBy tokenHash: String, now: Date, in transaction: StoreTransaction) async throws {
        for key in try await store.base.allKeys(in: .tokenLeases, prefix: tokenHash + "/") {
            let id = String(key.dropFirst(tokenHash.count + 1))
            transaction.delete(StoreKey(.tokenLeases, key))
            guard let lease = try await lease(id) else { continue }
            var updated = lease.value
            updated.tokenHash = nil
            if lease.value.state == .active {
                updated.scheduledTime = min(updated.scheduledTime, now)
                transaction.requestReaperWakeup()
            }
            try update(lease, to: updated, in: transaction)
        }
    }

    /// The idempotency index entry of a request key: scoped to the mount, the role and the requesting token, so
    /// two callers can never receive each other's credential by choosing the same key.
    static func requestKeyIndex(mount: String, role: String, accessor: String, key: String) -> String {
        "\(mount)\(role)/\(accessor)/\(key)"
    }

    static func requestKeyIndex(for lease: Lease, key: String) -> String {
        requestKeyIndex(mount: lease.mount, role: lease.role, accessor: lease.requester.accessor, key: key)
    }
}
