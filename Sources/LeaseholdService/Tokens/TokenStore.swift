import Foundation
import LeaseholdCore
import LeaseholdSeal

/// What a caller asks for when creating a token, after defaults and role constraints were applied.
public struct TokenRequest: Sendable {
    /// Policies to attach (the `default` policy is added unless `noDefaultPolicy`).
    public var policies: [String]
    /// Metadata.
    public var meta: [String: String] = [:]
    /// Display name (prefixed with `token-` as Vault does).
    public var displayName: String = "token"
    /// Requested TTL (0 = the default).
    public var ttl: TTL = .zero
    /// Hard cap on the token's life (0 = none).
    public var explicitMaxTTL: TTL = .zero
    /// Period for periodic tokens (0 = none).
    public var period: TTL = .zero
    /// Use limit (0 = unlimited).
    public var numUses: Int = 0
    /// Whether renewal is allowed.
    public var renewable: Bool = true
    /// Whether to omit the default policy.
    public var noDefaultPolicy: Bool = false
    /// The parent token's hash; `nil` makes an orphan.
    public var parentHash: String?
    /// The parent's stored version as the request read it: the child commits only while the parent is unchanged.
    public var parentVersion: Int64?
    /// For a login, the role, user or certificate entry logged in with.
    public var loginSource: LoginSource?
    /// The creating path.
    public var path: String = "auth/token/create"
    /// The role used, if any.
    public var role: String?
    /// The issuing auth method.
    public var authMethod: String = "token"
    /// The environment of the identity.
    public var environment: String = "default"
    /// `service` or `wrapping`.
    public var kind: String = "service"
    /// For cert logins: the SHA-256 fingerprint of the certificate that renewals must present again.
    public var boundCertificateFingerprint: String?
    /// CIDR blocks the token may be used from.
    public var boundCIDRs: [String] = []
    /// A caller-chosen token value (root or sudo only).
    public var customID: SecretValue?

    /// Creates a request with the given policies.
    public init(policies: [String]) { self.policies = policies }

    /// Applies the tuned TTLs of the auth mount that issues the token, as in Vault: its default when none was asked
    /// for, its maximum over the token's whole life (creation and every renewal); a periodic token's period is
    /// capped at that maximum instead, and root tokens take neither.
    mutating func apply(tuneOf mount: MountEntry) {
        guard !policies.contains("root") else { return }
        let cap = mount.maxLeaseTTL > 0 ? TTL(seconds: mount.maxLeaseTTL) : nil
        if !period.isZero {
            if let cap { period = min(period, cap) }
            return
        }
        if ttl.isZero, mount.defaultLeaseTTL > 0 { ttl = TTL(seconds: mount.defaultLeaseTTL) }
        if let cap { explicitMaxTTL = explicitMaxTTL.isZero ? cap : min(explicitMaxTTL, cap) }
    }
}

/// Token persistence and lifetime rules: creation, lookup by token or accessor, renewal, and tree revocation.
public struct TokenStore: Sendable {
    let store: EncryptedStore
    let hasher: KeyedHasher
    let limits: LeaseLimits
    let leases: LeaseStore
    /// Commits follow-up batches (the revocation of children created while their parent was being revoked).
    let commit: @Sendable (StoreBatch) async throws -> Void

    /// Creates the store view.
    public init(
        store: EncryptedStore, hasher: KeyedHasher, limits: LeaseLimits, leases: LeaseStore,
        commit: @escaping @Sendable (StoreBatch) async throws -> Void
    ) {
        self.commit = commit
        self.store = store
        self.hasher = hasher
        self.limits = limits
        self.leases = leases
    }

    /// The keyed hash under which a token is stored.
    public func hash(of token: SecretValue) -> String { hasher.hash(token.revealed) }

    /// Finds a live token by its value; expired tokens are treated as absent.
    public func lookup(token: SecretValue, now: Date) async throws -> Versioned<TokenEntry>? {
        guard token.revealed.count <= 256, !token.revealed.isEmpty else { return nil }
        return try await lookup(hash: hash(of: token), now: now)
    }

    /// Finds a live token by its keyed hash.
    public func lookup(hash: String, now: Date) async throws -> Versioned<TokenEntry>? {
        guard let found = try await store.read(TokenEntry.self, at: StoreKey(.tokens, hash)) else { return nil }
        return found.value.isExpired(at: now) ? nil : found
    }

    /// Finds a live token by accessor.
    public func lookup(accessor: String, now: Date) async throws -> Versioned<TokenEntry>? {
        guard !accessor.isEmpty, accessor.count <= 128,
            let index = try await store.read(String.self, at: StoreKey(.tokenAccessors, accessor))
        else { return nil }
        return try await lookup(hash: index.value, now: now)
    }

    /// Creates a token inside `transaction` and returns its value and entry.
    public func create(_ request: TokenRequest, now: Date, in transaction: StoreTransaction) throws -> (
        token: SecretValue, entry: TokenEntry
    ) {
        let token = request.customID ?? SecretValue(SecureRandom.token(prefix: "s."))
        guard !token.revealed.isEmpty, token.revealed.count <= 256, !token.revealed.contains(where: \.isWhitespace) else {
            throw LeaseholdError.invalidRequest("token id must be 1 to 256 characters without whitespace")
        }
        var policies = Set(request.policies.map { $0.lowercased() })
        if !request.noDefaultPolicy && !policies.contains("root") && request.kind == "service" {
            policies.insert("default")
        }
        let lifetime = limits.initialTTL(
            requested: request.ttl, explicitMax: request.explicitMaxTTL, period: request.period,
            isRoot: policies.contains("root"))
        let hash = self.hash(of: token)
        let entry = TokenEntry(
            hash: hash, accessor: SecureRandom.accessor(), policies: policies.sorted(), meta: request.meta,
            displayName: request.displayName, parentHash: request.parentHash, path: request.path,
            creationTime: now, creationTTL: lifetime.seconds, explicitMaxTTL: request.explicitMaxTTL.seconds,
            period: request.period.seconds, numUses: max(0, request.numUses), renewable: request.renewable && !lifetime.isZero,
            expireTime: lifetime.isZero ? nil : now.addingTimeInterval(TimeInterval(lifetime.seconds)),
            lastRenewalTime: nil, role: request.role, authMethod: request.authMethod,
            environment: request.environment, kind: request.kind,
            boundCertificateFingerprint: request.boundCertificateFingerprint,
            boundCIDRs: request.boundCIDRs.isEmpty ? nil : request.boundCIDRs, loginSource: request.loginSource)
        try transaction.put(entry, at: StoreKey(.tokens, hash), condition: .absent)
        try transaction.put(hash, at: StoreKey(.tokenAccessors, entry.accessor), condition: .absent)
        if let key = Self.expiryKey(of: entry) { try transaction.put(true, at: key) }
        if let parent = request.parentHash {
            try transaction.put(true, at: StoreKey(.tokenChildren, "\(parent)/\(hash)"))
            // Only while the parent is as read: a child committed after its parent's revocation would outlive it.
            if let version = request.parentVersion { transaction.check(StoreKey(.tokens, parent), condition: .version(version)) }
        }
        return (token, entry)
    }

    /// Renews a token by `increment` (0 = its original TTL), capped by its maximum. Returns the new entry and a
    /// warning when the cap applied.
    public func renew(
        _ token: TokenEntry, condition: StoreCondition, increment: TTL, now: Date, in transaction: StoreTransaction
    ) throws -> (entry: TokenEntry, warnings: [String]) {
        var entry = token
        guard entry.renewable, entry.kind == "service" else {
            throw LeaseholdError.invalidRequest("lease is not renewable")
        }
        guard entry.expireTime != nil else { return (entry, []) }
        let decision = limits.renewal(of: entry, increment: increment, now: now)
        guard decision.ttl.seconds > 0 else {
            throw LeaseholdError.invalidRequest("past the max TTL, cannot renew")
        }
        if let old = Self.expiryKey(of: entry) { transaction.delete(old) }
        entry.expireTime = now.addingTimeInterval(TimeInterval(decision.ttl.seconds))
        entry.lastRenewalTime = now
        if let new = Self.expiryKey(of: entry) { try transaction.put(true, at: new) }
        try transaction.put(entry, at: StoreKey(.tokens, entry.hash), condition: condition)
        return (entry, decision.warnings)
    }

    /// Records one use of a token with a use limit; the last use revokes it. The write is conditional on the
    /// version read, so concurrent uses cannot both succeed.
    public func consumeUse(of token: Versioned<TokenEntry>, now: Date, in transaction: StoreTransaction) async throws {
        guard token.value.numUses > 0 else { return }
        if token.value.numUses == 1 {
            try await revokeTree(token.value, condition: .version(token.version), now: now, in: transaction)
        } else {
            var entry = token.value
            entry.numUses -= 1
            try transaction.put(entry, at: StoreKey(.tokens, entry.hash), condition: .version(token.version))
        }
    }

    /// The most tokens one revocation removes (a token and its descendants), bounding the batch it stages.
    public static let maximumTreeSize = 100_000

    /// Revokes a token and all its descendants, whose leases are scheduled for revocation, in `transaction`.
    ///
    /// All or nothing: a tree of more than `limit` tokens throws ``LeaseholdCore/LeaseholdError/Code/invalidRequest``
    /// (the request fails and nothing it staged is committed; revoke a subtree first), instead of unlinking
    /// descendants it would then leave valid.
    /// Complexity: O(d) store reads for d descendants.
    public func revokeTree(
        _ root: TokenEntry, condition: StoreCondition = .none, now: Date, in transaction: StoreTransaction,
        limit: Int = TokenStore.maximumTreeSize
    ) async throws {
        var queue = [root.hash]
        var visited: Set<String> = []
        // Tokens revoked by this call that could have gained a child meanwhile (use-limited and wrapping tokens
        // cannot create children).
        var possibleParents: Set<String> = []
        while let hash = queue.popLast() {
            // A token already revoked in this transaction was revoked with its whole tree.
            guard visited.insert(hash).inserted, transaction.claimTokenRevocation(hash) else { continue }
            guard visited.count <= limit else {
                throw LeaseholdError.invalidRequest(
                    "the token has over \(limit) descendants; revoke some of its children first")
            }
            let children = try await store.base.allKeys(in: .tokenChildren, prefix: hash + "/")
            for childKey in children {
                queue.append(String(childKey.dropFirst(hash.count + 1)))
                transaction.delete(StoreKey(.tokenChildren, childKey))
            }
            let entry = hash == root.hash ? root : try await store.read(TokenEntry.self, at: StoreKey(.tokens, hash))?.value
            if let entry {
                removeEntry(entry, condition: hash == root.hash ? condition : .none, in: transaction)
                if entry.numUses == 0, entry.kind == "service" { possibleParents.insert(hash) }
            }
            try await leases.scheduleRevocation(ofLeasesOwnedBy: hash, now: now, in: transaction)
        }
        // A child whose creation committed after the listing above and before this revocation's commit is still
        // there; none can commit after it (creation checks that the parent is unchanged). Revoke those now.
        guard !possibleParents.isEmpty else { return }
        transaction.onCommit { [self, possibleParents] in await revokeStragglers(under: possibleParents, now: now) }
    }

    /// Revokes the trees of children that were created under `revoked` tokens while those were being revoked, each
    /// with a `token.revoke` audit row; best effort (a failure is left to the children's own expiry).
    private func revokeStragglers(under revoked: Set<String>, now: Date) async {
        for parent in revoked {
            guard let keys = try? await store.base.allKeys(in: .tokenChildren, prefix: parent + "/") else { continue }
            for key in keys {
                let transaction = StoreTransaction(store: store)
                transaction.delete(StoreKey(.tokenChildren, key))
                guard let child = try? await store.read(TokenEntry.self, at: StoreKey(.tokens, String(key.dropFirst(parent.count + 1)))),
                    // Unconditionally: uses and renewals of the child are conditional writes, and cannot bring it back.
                    (try? await revokeTree(child.value, now: now, in: transaction)) != nil
                else { continue }
                let event = Self.backgroundRevocationEvent(
                    "token.revoke", of: child.value, now: now, details: ["reason": "created while its parent was being revoked"])
                guard (try? await commit(transaction.batch(appending: event))) != nil else { continue }
                await transaction.committed()
            }
        }
    }

    /// Tokens by expiry time, so expired tokens (and the leases they own) are revoked.
    static let expiry = TimeIndex(namespace: .tokenExpiry)

    /// The expiry-index key of a token (`nil` for tokens that never expire).
    static func expiryKey(of entry: TokenEntry) -> StoreKey? {
        entry.expireTime.map { expiry.key(at: $0, id: entry.hash) }
    }

    /// The expiry-index entries of tokens that expired at or before `now`, earliest first, at most `limit`.
    func expired(at now: Date, limit: Int) async throws -> [TimeIndex.Entry] {
        try await Self.expiry.due(at: now, limit: limit, in: store.base)
    }

    /// Revokes an expired token and its descendants (their leases are scheduled for revocation), with an audit
    /// row. An index entry whose token is gone is dropped; a token renewed meanwhile is left alone.
    func revokeExpired(_ indexed: TimeIndex.Entry, now: Date) async throws {
        guard let stored = try await store.read(TokenEntry.self, at: StoreKey(.tokens, indexed.id)) else {
            try await commit(StoreBatch(operations: [.delete(StoreKey(.tokenExpiry, indexed.key), .none)]))
            return
        }
        guard stored.value.isExpired(at: now) else { return }
        let transaction = StoreTransaction(store: store)
        try await revokeTree(stored.value, condition: .version(stored.version), now: now, in: transaction)
        let event = Self.backgroundRevocationEvent("token.expire", of: stored.value, now: now)
        try await commit(transaction.batch(appending: event))
        await transaction.committed()
    }

    /// The audit row of a revocation the broker makes on its own (an expiry, a straggler child), naming the token.
    private static func backgroundRevocationEvent(
        _ type: String, of entry: TokenEntry, now: Date, details: [String: String] = [:]
    ) -> AuditEvent {
        AuditEvent(
            time: now, requestID: "", type: type, operation: "delete", path: entry.path,
            actor: AuditActor(accessor: entry.accessor, displayName: entry.displayName, policies: entry.policies, authMethod: entry.authMethod),
            remoteAddress: "", outcome: "allowed", environment: entry.environment, details: details)
    }

    /// Revokes only the token; its children become orphans.
    public func revokeOrphan(_ token: TokenEntry, now: Date, in transaction: StoreTransaction) async throws {
        for childKey in try await store.base.allKeys(in: .tokenChildren, prefix: token.hash + "/") {
            let childHash = String(childKey.dropFirst(token.hash.count + 1))
            transaction.delete(StoreKey(.tokenChildren, childKey))
            if let child = try await store.read(TokenEntry.self, at: StoreKey(.tokens, childHash)) {
                var orphaned = child.value
                orphaned.parentHash = nil
                try transaction.put(orphaned, at: StoreKey(.tokens, childHash), condition: .version(child.version))
            }
        }
        removeEntry(token, condition: .none, in: transaction)
        try await leases.scheduleRevocation(ofLeasesOwnedBy: token.hash, now: now, in: transaction)
    }

    private func removeEntry(_ entry: TokenEntry, condition: StoreCondition, in transaction: StoreTransaction) {
        transaction.delete(StoreKey(.tokens, entry.hash), condition: condition)
        // A wrapping token revoked or expired unused takes the response it wrapped with it (secrets included).
        if entry.kind == "wrapping" { transaction.delete(StoreKey(.wrappedResponses, entry.hash)) }
        if let key = Self.expiryKey(of: entry) { transaction.delete(key) }
        transaction.delete(StoreKey(.tokenAccessors, entry.accessor))
        if let parent = entry.parentHash {
            transaction.delete(StoreKey(.tokenChildren, "\(parent)/\(entry.hash)"))
        }
    }
}
