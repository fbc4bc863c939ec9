import Foundation
import LeaseholdCore

/// The writes a request makes, committed atomically with its audit row once the handler succeeds.
///
/// Handlers read through ``EncryptedStore`` and record writes here; nothing reaches the store until the broker
/// commits the transaction together with the audit event ("no audit row, no operation").
public final class StoreTransaction: @unchecked Sendable {
    // Safety: a transaction belongs to exactly one request task; all access is sequential within it, and the
    // lock guards against accidental sharing with child tasks.
    private let lock = NSLock()
    private var operations: [StoreOperation] = []
    private var events: [AuditEvent] = []
    private var details: [String: String] = [:]
    private var reaperWakeup = false
    private var identityEnvironment: String?
    private var auditedPath: String?
    private var abandonActions: [@Sendable () async -> Void] = []
    private var commitActions: [@Sendable () async -> Void] = []
    private var revokedTokens: Set<String> = []
    let store: EncryptedStore

    init(store: EncryptedStore) { self.store = store }

    /// Writes `value` at `key` if `condition` holds at commit time.
    public func put(_ value: some Encodable, at key: StoreKey, condition: StoreCondition = .none) throws {
        let sealed = try store.seal(value, for: key)
        lock.withLock { operations.append(.put(key, sealed, condition)) }
    }

    /// Adds an operation already in the store's form (a value sealed by its owner, such as the key ring).
    public func stage(_ operation: StoreOperation) {
        lock.withLock { operations.append(operation) }
    }

    /// Deletes `key` if `condition` holds at commit time.
    public func delete(_ key: StoreKey, condition: StoreCondition = .none) {
        lock.withLock { operations.append(.delete(key, condition)) }
    }

    /// Makes the commit fail unless `condition` holds for `key` then, without writing it.
    public func check(_ key: StoreKey, condition: StoreCondition) {
        lock.withLock { operations.append(.check(key, condition)) }
    }

    /// Claims the revocation of the token `hash` for this transaction: true the first time, false once staged (a
    /// token's last use stages its own revocation, and the request may revoke a tree that holds it again).
    func claimTokenRevocation(_ hash: String) -> Bool {
        lock.withLock { revokedTokens.insert(hash).inserted }
    }

    /// Adds an extra audit event (beyond the request's own row).
    public func record(_ event: AuditEvent) {
        lock.withLock { events.append(event) }
    }

    /// Asks the broker to wake the reaper once this transaction committed (leases were scheduled for now).
    public func requestReaperWakeup() {
        lock.withLock { reaperWakeup = true }
    }

    /// Whether the reaper should look at its schedule after the commit.
    var wakesReaper: Bool { lock.withLock { reaperWakeup } }

    /// Replaces the request path in its audit row: for a path that may carry a secret typed in the wrong place
    /// (a password typed as a login's username).
    public func auditPath(_ path: String) {
        lock.withLock { auditedPath = path }
    }

    /// Adds secret-free details (an accessor, a database username, a lease id) to the request's audit row.
    public func annotate(_ key: String, _ value: String) {
        lock.withLock { details[key] = value }
    }

    /// Registers work that undoes what a handler did outside the store (a user created on a target) when this
    /// transaction is abandoned: its commit failed, so the response is never sent, and the broker may retry.
    public func onAbandon(_ action: @escaping @Sendable () async -> Void) {
        lock.withLock { abandonActions.append(action) }
    }

    /// Registers work that may happen only once this transaction is durable (a key ring made active in memory).
    public func onCommit(_ action: @escaping @Sendable () async -> Void) {
        lock.withLock { commitActions.append(action) }
    }

    /// Runs (once) what ``onCommit(_:)`` registered.
    func committed() async { await run(taking: \.commitActions) }

    /// Runs (once) what ``onAbandon(_:)`` registered.
    func abandon() async { await run(taking: \.abandonActions) }

    /// Takes the actions at `list` (so they run once) and runs them in order.
    private func run(taking list: ReferenceWritableKeyPath<StoreTransaction, [@Sendable () async -> Void]>) async {
        let actions = lock.withLock { () -> [@Sendable () async -> Void] in
            defer { self[keyPath: list].removeAll() }
            return self[keyPath: list]
        }
        for action in actions { await action() }
    }

    /// Records the environment of the identity a login issued a token to, for the request's audit row.
    public func setIdentityEnvironment(_ environment: String) {
        lock.withLock { identityEnvironment = environment }
    }

    /// The request's audit event with this transaction's annotations (and a login's environment) applied. Failed
    /// requests commit this alone, so what a handler annotated before failing (the role a login tried) is kept.
    func annotated(_ requestEvent: AuditEvent) -> AuditEvent {
        lock.withLock {
            var event = requestEvent
            event.details.merge(details) { _, annotated in annotated }
            if let identityEnvironment { event.environment = identityEnvironment }
            if let auditedPath { event.path = auditedPath }
            return event
        }
    }

    /// The batch to commit, with the request's audit event (and its annotations) appended last.
    func batch(appending requestEvent: AuditEvent) -> StoreBatch {
        let event = annotated(requestEvent)
        return lock.withLock { StoreBatch(operations: operations, auditEvents: events + [event]) }
    }
}
