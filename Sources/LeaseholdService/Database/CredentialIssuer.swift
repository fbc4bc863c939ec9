import Foundation
import LeaseholdCore
import LeaseholdSeal
import Metrics

/// Issues one dynamic credential without ever orphaning a database user:
///
/// 1. the lease is written as `pending`, with the username about to be created, and committed durably (the commit
///    overlaps the target transaction's first statements, but that transaction commits only after it);
/// 2. the user is created on the target in one transaction (statement and lock timeouts), marked as managed;
/// 3. the lease becomes `active` in the request's own commit, together with its audit row; then the response.
///
/// On failure the user is revoked and the lease removed with a `lease.failed` audit row. If the broker dies
/// between 1 and 3, the reaper finds the pending lease after its deadline and removes the user.
struct CredentialIssuer {
    let context: OperationContext
    let roleName: String

    func issue() async throws -> LogicalResponse {
        let mount = try context.requireMount()
        let caller = try context.requireCaller().value
        guard let role = try await context.services.store.read(DatabaseRole.self, at: StoreKey(.databaseRoles, mount.path + roleName))?.value else {
            throw LeaseholdError.invalidRequest("unknown role: \(roleName)")
        }
        // The environment wall: whatever the policies say, a token gets credentials only in its own environment.
        guard role.environment == caller.environment else { throw LeaseholdError.permissionDenied }
        // A token's last use revokes it in this request's commit, with its leases (as in Vault): a lease it owned
        // would be left to a revoked token, so the credential is refused instead of returned dead.
        if caller.isOnLastUse, !role.leasesOutliveToken {
            throw LeaseholdError.invalidRequest("this is the token's last use: a lease it owns would be revoked with it at once")
        }
        let connectionKey = StoreKey(.databaseConnections, mount.path + role.connection)
        guard let connection = try await context.services.store.read(DatabaseConnection.self, at: connectionKey),
            !connection.value.retired
        else { throw LeaseholdError.invalidRequest("unknown database connection \(role.connection) for role \(roleName)") }
        guard connection.value.allows(role: roleName) else {
            throw LeaseholdError.invalidRequest("\"\(roleName)\" is not an allowed role")
        }
        guard connection.value.environment == caller.environment else { throw LeaseholdError.permissionDenied }
        let identity = Self.identity(of: caller)
        let requestKey = try context.request.requestKey ?? context.data.string("request_key")
        if let requestKey, let existing = try await existingLease(mount: mount, accessor: caller.accessor, requestKey: requestKey) {
            return existing
        }
        let identityPrefix = LeaseStore.identityIndexPrefix(
            mount: mount.path, role: roleName, identityHash: context.services.keys.auditHasher.hash("identity:" + identity))
        // A cap is a count followed by the insert it allowed: concurrent issuances under the same cap (the role's,
        // or with only a per-identity cap the identity's) take turns from the count until their intent is durable
        // (or failed), so two of them never both take the last place.
        let capScope: String? = role.maxActiveLeases > 0 ? mount.path + roleName
            : role.maxLeasesPerIdentity > 0 ? identityPrefix : nil
        let capHold: KeyedAsyncLock.Hold?
        if let capScope { capHold = await context.services.issuanceLocks.acquire(capScope) } else { capHold = nil }
        defer { capHold?.release() }
        try await enforceCaps(role: role, mount: mount, identityPrefix: identityPrefix)

        let (ttl, warnings) = lifetime(role: role, mount: mount)
        let now = context.now
        let username = try CredentialGenerator.makeUsername(
            template: connection.value.usernameTemplate, displayName: caller.displayName, role: roleName,
            mount: mount.path, environment: role.environment, now: now)
        let password = CredentialGenerator.makePassword()
        let leaseID = LeaseStore.idPrefix(mount: mount.path, role: roleName) + SecureRandom.string(length: 24, alphabet: SecureRandom.base62Alphabet)
        let maximum = now.addingTimeInterval(TimeInterval(Self.maximumTTL(role: role, mount: mount, limits: context.services.limits)))
        var lease = Lease(
            id: leaseID, mount: mount.path, role: roleName, connection: role.connection, username: username.rawValue,
            state: .pending, issueTime: now, expireTime: now.addingTimeInterval(TimeInterval(ttl)),
            maximumExpireTime: maximum, tokenHash: role.leasesOutliveToken || caller.hash.isEmpty ? nil : caller.hash,
            requester: AuditRecorder.actor(for: caller, token: nil, hasher: context.services.keys.auditHasher),
            environment: role.environment, revocationStatements: role.revocationStatements,
            renewStatements: role.renewStatements, requestKey: requestKey)
        lease.scheduledTime = now.addingTimeInterval(DatabaseBackend.pendingDeadline)
        lease.identityIndex = identityPrefix + leaseID

        // 1. Intent, committed while the target transaction starts: the target commits only once it is durable.
        let intent = StoreTransaction(store: context.services.store)
        try context.services.leases.insert(lease, in: intent)
        // Only while the connection is as read: a delete retires it first, then looks for its leases.
        intent.check(connectionKey, condition: .version(connection.version))
        let intentBatch = intent.batch(appending: LeaseAudit.event(LeaseEventType.pending, lease: lease, context: context))
        let intentCommit = Task { [services = context.services] in
            defer { capHold?.release() }
            try await services.commit(intentBatch)
        }
        // Inserted with an `.absent` condition, so the stored row is at version 1 (no read needed).
        let pending = Versioned(value: lease, version: 1)

        // 2. The user, on the target.
        let gate = CommitGate()
        do {
            let engine = try await context.services.engine(key: connectionKey.description, connection: connection)
            try await engine.createUser(
                DatabaseUserRequest(
                    username: username, password: password, expiration: lease.expireTime,
                    creationStatements: role.creationStatements,
                    leaseID: ManagedUserMarker(clusterID: await context.services.seal.status().clusterID, leaseID: leaseID).text,
                    beforeCommit: {
                        try await intentCommit.value
                        try gate.enterCommit()
                    }))
            try await intentCommit.value
        } catch {
            // Without a durable intent the target transaction never committed: there is nothing to clean up.
            try await intentCommit.value
            try await fail(
                pending, error: error, mayHaveCommitted: gate.abandon(), connectionKey: connectionKey,
                connection: connection)
        }

        // The owning token may have been revoked before the intent was durable, when its revocation could not see
        // the lease yet (afterwards, the revocation changes the pending lease and the commit below conflicts).
        if let owner = lease.tokenHash, try await context.services.tokens.lookup(hash: owner, now: context.now) == nil {
            do {
                try await fail(
                    pending, error: LeaseholdError.permissionDenied, mayHaveCommitted: false, connectionKey: connectionKey,
                    connection: connection)
            } catch {
                throw LeaseholdError.permissionDenied
            }
        }

        // 3. Active, in the request's commit with its audit row. If that commit fails (a concurrent request with the
        // same key won, the owning token was revoked meanwhile, or the store failed), the credential is never
        // returned: the still-pending lease is scheduled for revocation now instead of at its pending deadline.
        context.transaction.onAbandon { [services = context.services, now = context.now] in
            await Self.revokeSoon(pending, at: now, services: services)
        }
        lease.state = .active
        lease.scheduledTime = lease.expireTime
        try context.services.leases.update(pending, to: lease, in: context.transaction)
        if requestKey != nil {
            try context.transaction.put(password, at: StoreKey(.leaseSecrets, leaseID), condition: .absent)
            try context.transaction.put(
                leaseID, at: StoreKey(.leaseRequestKeys, LeaseStore.requestKeyIndex(for: lease, key: requestKey ?? "")),
                condition: .absent)
        }
        context.transaction.record(LeaseAudit.event(LeaseEventType.issue, lease: lease, context: context))
        context.transaction.annotate("lease_id", leaseID)
        context.transaction.annotate("db_username", username.rawValue)
        context.services.reaperSignal.wake()
        Counter(label: "leasehold_leases_issued_total", dimensions: [("role", roleName)]).increment()
        return LogicalResponse(
            data: ["username": .string(username.rawValue), "password": .string(password.revealed)], warnings: warnings,
            leaseID: leaseID, leaseDuration: Int64(ttl), renewable: true)
    }

    /// Schedules a pending lease whose credential was never returned for revocation at `now`, the request's time
    /// (best effort: if even this fails, the reaper still revokes it at the pending deadline).
    static func revokeSoon(_ pending: Versioned<Lease>, at now: Date, services: BrokerServices) async {
        var lease = pending.value
        lease.scheduledTime = now
        let transaction = StoreTransaction(store: services.store)
        guard (try? services.leases.update(pending, to: lease, in: transaction)) != nil else { return }
        var event = LeaseAudit.event(LeaseEventType.abandoned, lease: lease, time: lease.scheduledTime, actor: lease.requester)
        event.details["reason"] = "the issuing request did not commit; the user is revoked now"
        guard (try? await services.commit(transaction.batch(appending: event))) != nil else { return }
        services.reaperSignal.wake()
    }

    /// Cleans up after a failed creation and throws a caller-safe error.
    ///
    /// When the transaction cannot commit any more (it failed before its commit gate, or the gate is now closed to
    /// the work still running in the background), the user, if any, is revoked now and the pending lease removed.
    /// When it had passed the gate (`mayHaveCommitted`: the issuer stopped waiting during the commit), it may still
    /// commit after this: the pending lease stays, scheduled at its pending deadline (longer than any creation can
    /// run), when the reaper removes whatever user it names.
    private func fail(
        _ pending: Versioned<Lease>, error: any Error, mayHaveCommitted: Bool, connectionKey: StoreKey,
        connection: Versioned<DatabaseConnection>
    ) async throws -> Never {
        let reason = (error as? LeaseholdError)?.message ?? "the target database failed"
        let cleanup = StoreTransaction(store: context.services.store)
        var failedEvent = LeaseAudit.event(LeaseEventType.failed, lease: pending.value, context: context)
        failedEvent.outcome = "error"
        failedEvent.details["reason"] = String(reason.prefix(300))
        // An unreachable target would only make a revocation now wait again.
        let unreachable = (error as? LeaseholdError)?.code == .targetUnavailable
        if mayHaveCommitted {
            failedEvent.details["cleanup"] = "deferred to the reaper"
        } else if !unreachable,
            let engine = try? await context.services.engine(key: connectionKey.description, connection: connection),
            (try? await engine.revokeUser(try DatabaseUsername(pending.value.username), statements: [])) != nil
        {
            context.services.leases.remove(pending, in: cleanup)
        } else {
            // The user could not be revoked now: the reaper retries from now on, with backoff.
            var retry = pending.value
            retry.scheduledTime = context.now.addingTimeInterval(1)
            try context.services.leases.update(pending, to: retry, in: cleanup)
            failedEvent.details["cleanup"] = "deferred to the reaper"
        }
        try await context.services.commit(cleanup.batch(appending: failedEvent))
        throw LeaseholdError(.internalError, "failed to create the database user: \(reason)")
    }

    private func existingLease(mount: MountEntry, accessor: String, requestKey: String) async throws -> LogicalResponse? {
        guard requestKey.count <= 128, !requestKey.contains("/") else {
            throw LeaseholdError.invalidRequest("request keys are at most 128 characters, without '/'")
        }
        let index = StoreKey(
            .leaseRequestKeys, LeaseStore.requestKeyIndex(mount: mount.path, role: roleName, accessor: accessor, key: requestKey))
        guard let leaseID = try await context.services.store.read(String.self, at: index)?.value,
            let lease = try await context.services.leases.lease(leaseID), lease.value.state == .active,
            lease.value.expireTime > context.now,
            let password = try await context.services.store.read(SecretValue.self, at: StoreKey(.leaseSecrets, leaseID))
        else { return nil }
        context.transaction.annotate("lease_id", leaseID)
        context.transaction.annotate("idempotent_replay", "true")
        return LogicalResponse(
            data: ["username": .string(lease.value.username), "password": .string(password.value.revealed)],
            leaseID: leaseID, leaseDuration: lease.value.remainingSeconds(at: context.now), renewable: true)
    }

    /// Refuses (429) when the role or this identity already holds its cap of leases. Reads at most the cap's number of
    /// index keys: the role's leases by id prefix, the identity's in the per-identity index.
    private func enforceCaps(role: DatabaseRole, mount: MountEntry, identityPrefix: String) async throws {
        let leases = context.services.leases
        if role.maxActiveLeases > 0,
            try await leases.count(mount: mount.path, role: roleName, upTo: role.maxActiveLeases) >= role.maxActiveLeases
        {
            throw LeaseholdError(.rateLimited, "role \(roleName) has reached its cap of \(role.maxActiveLeases) active leases")
        }
        if role.maxLeasesPerIdentity > 0 {
            let held = try await leases.count(identityPrefix: identityPrefix, upTo: role.maxLeasesPerIdentity)
            if held >= role.maxLeasesPerIdentity {
                throw LeaseholdError(.rateLimited, "this identity holds \(held) leases on role \(roleName), its cap")
            }
        }
    }

    /// The longest a credential of `role` may live from its issue: the role's `max_ttl`, the mount's tuned
    /// maximum and the server's, whichever is shortest. Renewals apply it as it is now, so lowering one shortens
    /// the leases already issued.
    static func maximumTTL(role: DatabaseRole, mount: MountEntry, limits: LeaseLimits) -> Int64 {
        let system = limits.maxTTL.seconds
        var maximum = mount.maxLeaseTTL > 0 ? min(mount.maxLeaseTTL, system) : system
        if role.maxTTL > 0 { maximum = min(maximum, role.maxTTL) }
        return maximum
    }

    private func lifetime(role: DatabaseRole, mount: MountEntry) -> (Int64, [String]) {
        let maximum = Self.maximumTTL(role: role, mount: mount, limits: context.services.limits)
        let wanted = role.defaultTTL > 0 ? role.defaultTTL : (mount.defaultLeaseTTL > 0 ? mount.defaultLeaseTTL : context.services.limits.defaultTTL.seconds)
        guard wanted > maximum else { return (wanted, []) }
        return (maximum, ["TTL of \"\(TTL(seconds: wanted))\" exceeded the effective max_ttl of \"\(TTL(seconds: maximum))\"; TTL value is capped accordingly"])
    }

    /// The identity leases are counted and keyed by: the auth method and display name of the token.
    static func identity(of token: TokenEntry) -> String { "\(token.authMethod):\(token.displayName)" }
}

/// Audit events for lease steps.
enum LeaseAudit {
    static func event(_ type: String, lease: Lease, context: OperationContext) -> AuditEvent {
        event(type, lease: lease, time: context.now, requestID: context.request.requestID, actor: lease.requester, remoteAddress: context.request.remoteAddress)
    }

    static func event(_ type: String, lease: Lease, time: Date, requestID: String = "", actor: AuditActor, remoteAddress: String = "") -> AuditEvent {
        AuditEvent(
            time: time, requestID: requestID, type: type, operation: "update", path: lease.id, actor: actor,
            remoteAddress: remoteAddress, outcome: "allowed", environment: lease.environment,
            details: [
                "lease_id": lease.id, "db_username": lease.username, "role": lease.role, "connection": lease.connection,
                "mount": lease.mount, "expire_time": AuditEvent.timestamp(lease.expireTime),
            ])
    }
}
