import Foundation

/// Where a lease is in its life.
public enum LeaseState: String, Sendable, Codable, Hashable {
    /// Recorded before the user is created on the target; nothing was handed out yet.
    case pending
    /// The credential was handed out and is valid.
    case active
    /// Issuance failed; the target was cleaned up (or will be, by the reaper).
    case failed
}

/// A dynamic credential's lease. The lease carries everything needed to revoke its user, so deleting the role
/// or the connection never strands a live user.
public struct Lease: Sendable, Codable, Hashable {
    /// `<mount>creds/<role>/<random>`, e.g. `database/creds/readonly/3kZ…`.
    public var id: String
    /// The mount path with trailing slash (`database/`).
    public var mount: String
    /// The role the credential was issued for.
    public var role: String
    /// The connection (`config/:name`) the user lives on.
    public var connection: String
    /// The database user.
    public var username: String
    /// The lifecycle state.
    public var state: LeaseState
    /// When it was issued.
    public var issueTime: Date
    /// When it expires (the reaper revokes it then).
    public var expireTime: Date
    /// The latest expiry renewals may reach.
    public var maximumExpireTime: Date
    /// The last renewal.
    public var lastRenewalTime: Date?
    /// When the reaper next looks at this lease: the expiry, the deadline of a pending issue, or the next
    /// revocation retry. The reaper's index is keyed by this time.
    public var scheduledTime: Date
    /// The keyed hash of the token that requested it; `nil` when the lease outlives tokens.
    public var tokenHash: String?
    /// The identity that requested it (no secrets).
    public var requester: AuditActor
    /// The environment of the requester and role.
    public var environment: String
    /// The role's revocation statements at issue time (empty: the engine's thorough default).
    public var revocationStatements: [String]
    /// The role's renew statements at issue time (empty: `VALID UNTIL`).
    public var renewStatements: [String]
    /// Failed revocation attempts so far.
    public var revokeAttempts: Int
    /// The last revocation error (secret-free).
    public var lastRevokeError: String?
    /// An idempotency key given by the requester.
    public var requestKey: String?
    /// This lease's key in the per-identity index that `max_leases_per_identity` counts (`nil` in leases written
    /// before the index existed).
    public var identityIndex: String? = nil

    /// Creates a lease.
    public init(
        id: String, mount: String, role: String, connection: String, username: String, state: LeaseState,
        issueTime: Date, expireTime: Date, maximumExpireTime: Date, tokenHash: String?, requester: AuditActor,
        environment: String, revocationStatements: [String], renewStatements: [String], requestKey: String?
    ) {
        self.id = id
        self.mount = mount
        self.role = role
        self.connection = connection
        self.username = username
        self.state = state
        self.issueTime = issueTime
        self.expireTime = expireTime
        self.maximumExpireTime = maximumExpireTime
        self.lastRenewalTime = nil
        self.scheduledTime = expireTime
        self.tokenHash = tokenHash
        self.requester = requester
        self.environment = environment
        self.revocationStatements = revocationStatements
        self.renewStatements = renewStatements
        self.revokeAttempts = 0
        self.lastRevokeError = nil
        self.requestKey = requestKey
    }

    /// Whether a revocation was asked for (an explicit revoke that is being retried, the owning token's
    /// revocation, an asynchronous revoke-prefix): the lease is then scheduled before it expires, or has failed
    /// attempts. Such a lease is never renewed: a renewal would move its schedule back to its expiry and cancel the
    /// revocation.
    public var isBeingRevoked: Bool { revokeAttempts > 0 || scheduledTime < expireTime }

    /// Seconds left at `now` (never negative).
    public func remainingSeconds(at now: Date) -> Int64 {
        max(0, Int64(expireTime.timeIntervalSince(now).rounded(.down)))
    }
}

/// The audit event types of a lease's life, shared by the code that writes them and the code that reads them.
public enum LeaseEventType {
    /// The intent, durable before the target transaction that creates the user commits.
    public static let pending = "lease.pending"
    /// The credential was returned.
    public static let issue = "lease.issue"
    /// The lease was renewed.
    public static let renew = "lease.renew"
    /// Revoked before its expiry.
    public static let revoke = "lease.revoke"
    /// Revoked by the reaper at expiry.
    public static let expire = "lease.expire"
    /// Forgotten without touching the target (`revoke-force`).
    public static let force = "lease.force"
    /// A revocation attempt failed; it is retried.
    public static let revokeFailed = "lease.revoke_failed"
    /// Creation failed after the intent; the user was cleaned up.
    public static let failed = "lease.failed"
    /// The request that created the user did not commit; the user is revoked at once.
    public static let abandoned = "lease.abandoned"
    /// The reconciler removed a managed user without a live lease.
    public static let reconcile = "lease.reconcile"

    /// The types that end a lease.
    public static let endings: Set<String> = [revoke, expire, force, reconcile, failed]
}
