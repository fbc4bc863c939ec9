import LeaseholdCore
import Testing

@Suite("Keyed async lock")
struct KeyedAsyncLockTests {
    /// Collects events from concurrent tasks in the order they happen.
    actor Log {
        var events: [String] = []
        func add(_ event: String) { events.append(event) }
    }

    @Test func oneHolderPerKeyInArrivalOrder() async throws {
        let lock = KeyedAsyncLock()
        let log = Log()
        let first = await lock.acquire("role")
        #expect(lock.isHeld("role"))
        let waiters = (1...3).map { index in
            Task {
                // Staggered so the arrival order is known.
                try await Task.sleep(for: .milliseconds(50 * index))
                let hold = await lock.acquire("role")
                await log.add("in \(index)")
                try await Task.sleep(for: .milliseconds(20))
                await log.add("out \(index)")
                hold.release()
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await log.events.isEmpty, "nobody enters while the key is held")
        first.release()
        for waiter in waiters { try await waiter.value }
        #expect(await log.events == ["in 1", "out 1", "in 2", "out 2", "in 3", "out 3"])
        #expect(!lock.isHeld("role"))
    }

    @Test func keysAreIndependentAndAHoldReleasesOnce() async {
        let lock = KeyedAsyncLock()
        let a = await lock.acquire("a")
        let b = await lock.acquire("b")
        #expect(lock.isHeld("a") && lock.isHeld("b"))
        b.release()
        b.release()
        #expect(!lock.isHeld("b"))
        let again = await lock.acquire("b")
        a.release()
        a.release()
        #expect(lock.isHeld("b"), "releasing a twice did not free b's second hold")
        again.release()
        #expect(!lock.isHeld("a") && !lock.isHeld("b"))
    }
}
