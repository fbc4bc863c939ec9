import Synchronization

/// Tells audit sinks that rows were committed, and the sink registry that the device table may have changed.
///
/// The broker fires ``rowsCommitted()`` after every successful commit that appended audit rows. Any number of
/// sinks wait on it at once; each remembers the generation it has seen, so no wake-up is lost while it is busy.
public final class AuditDeliverySignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var devicesChanged = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Creates the signal.
    public init() {}

    /// Wakes every waiting sink: new audit rows are durable.
    public func rowsCommitted() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Notes that a device was enabled or disabled; the registry looks at the table after the next commit.
    func devicesDidChange() {
        state.withLock { $0.devicesChanged = true }
    }

    /// Whether the device table changed since the last call.
    func takeDevicesChanged() -> Bool {
        state.withLock { state in
            defer { state.devicesChanged = false }
            return state.devicesChanged
        }
    }

    /// The number of commits signalled so far.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Suspends until a commit after `seen` is signalled, `timeout` passes, or the task is cancelled; returns the
    /// generation current on return.
    func wait(after seen: UInt64, timeout: Duration) async -> UInt64 {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForCommit(after: seen) }
            await group.next()
            group.cancelAll()
        }
        return generation
    }

    private func waitForCommit(after seen: UInt64) async {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
