import Foundation
import Synchronization
import LeaseholdAuth
import LeaseholdCore

/// The unsealed services a request works with, built from the store and the unsealed keys.
struct BrokerServices: Sendable {
    let store: EncryptedStore
    let keys: UnsealedKeys
    let tokens: TokenStore
    let policies: PolicyStore
    let mounts: MountTable
    let seal: SealManager
    /// Whether this instance runs the store-wide work (always, with a store of its own).
    let leadership: Leadership
    let limits: LeaseLimits
    let information: ServerInformation
    let leases: LeaseStore
    let engines: DatabaseEngines?
    let reaperSignal: ReaperSignal
    let auditSignal: AuditDeliverySignal
    let loginThrottle: LoginThrottle
    /// Serializes, per role, the count against a role's lease caps and the durable intent that the count allowed.
    let issuanceLocks: KeyedAsyncLock
    /// Runs password hashing (userpass) off the cooperative pool, a few at a time.
    let passwordHashing: BlockingWorkLimiter
    /// Identity providers' signing keys, shared by every JWT login.
    let jwksCache: JWKSCache
    /// Whether `sys/audit` may enable audit devices.
    let allowsAPIAuditDeviceCreation: Bool
    /// Commits a batch immediately (for intent records that must be durable before the target changes).
    let commit: @Sendable (StoreBatch) async throws -> Void

    /// The engine for a connection stored under `key`, or an error when no engine factory is configured.
    func engine(key: String, connection: Versioned<DatabaseConnection>) async throws -> any DatabaseEngine {
        guard let engines else { throw LeaseholdError.invalidRequest("no database engines are available in this server") }
        return try await engines.engine(key: key, connection: connection.value)
    }
}

/// Wakes the reaper early: a lease was scheduled sooner than it planned to look. Wake-ups that arrive while
/// the reaper is busy are remembered (once), so none is lost.
public final class ReaperSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Creates the signal.
    public init() {}

    /// Asks the reaper to look at its schedule now.
    public func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Suspends until the next wake-up (or returns at once if one is pending), or until the task is cancelled.
    func nextWakeup() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

/// Static facts about this server for `sys/health`, `sys/seal-status` and `sys/leader`.
public struct ServerInformation: Sendable {
    /// The version string, e.g. `0.1.0`.
    public var version: String
    /// The store's kind (`sqlite`, `postgresql`, `inmem`).
    public var storageType: String
    /// The advertised API address.
    public var apiAddress: String

    /// Creates the information.
    public init(version: String, storageType: String, apiAddress: String) {
        self.version = version
        self.storageType = storageType
        self.apiAddress = apiAddress
    }
}
