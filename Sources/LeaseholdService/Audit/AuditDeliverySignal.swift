import LeaseholdCore
import Synchronization

/// Tells audit sinks that rows were committed, and the sink registry that the device table may have changed.
///
/// The broker fires ``rowsCommitted()`` after every successful commit that appended audit rows. Any number of
/// sinks wait on it at once; each remembers the generation it has seen, so no wake-up is lost while it is busy.
public final class AuditDeliverySignal: Sendable {
    /// The number of commits signalled so far.
    private let commits = WatchedValue<UInt64>(0)
    private let devicesChanged = Atomic<Bool>(false)

    /// Creates the signal.
    public init() {}

    /// Wakes every waiting sink: new audit rows are durable.
    public func rowsCommitted() {
        commits.update { $0 &+= 1 }
    }

    /// Notes that a device was enabled or disabled; the registry looks at the table after the next commit.
    func devicesDidChange() {
        devicesChanged.store(true, ordering: .sequentiallyConsistent)
    }

    /// Whether the device table changed since the last call.
    func takeDevicesChanged() -> Bool {
        devicesChanged.exchange(false, ordering: .sequentiallyConsistent)
    }

    /// The number of commits signalled so far.
    var generation: UInt64 { commits.value }

    /// Suspends until a commit after `seen` is signalled, `timeout` passes, or the task is cancelled; returns the
    /// generation current on return.
    func wait(after seen: UInt64, timeout: Duration) async -> UInt64 {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.commits.wait { $0 != seen } }
            await group.next()
            group.cancelAll()
        }
        return generation
    }
}
