import LeaseholdCore
import Testing

@Suite("Keyed async lock")
struct KeyedAsyncLockTests {
    /// Collects events from concurrent tasks in the order they happen.
    actor Log {
        var events: [String] = []
        func add(_ event: String) { events.append(event) }
    }

    /// Waits (up to 10 s) until `condition` holds, so arrival order never rests on how long a sleep lasts.
    static func waitUntil(_ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    @Test func oneHolderPerKeyInArrivalOrder() async throws {
        let lock = KeyedAsyncLock()
        let log = Log()
        let first = await lock.acquire("role")
        #expect(lock.isHeld("role"))
        var waiters: [Task<Void, any Error>] = []
        for index in 1...3 {
            waiters.append(Task {
                let hold = await lock.acquire("role")
                await log.add("in \(index)")
                try await Task.sleep(for: .milliseconds(20))
                await log.add("out \(index)")
                hold.release()
            })
            // The next one starts only once this one is queued, so the arrival order is known.
            try await Self.waitUntil { lock.waiterCount("role") == index }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(await log.events.isEmpty, "nobody enters while the key is held")
        first.release()
        for waiter in waiters { try await waiter.value }
        #expect(await log.events == ["in 1", "out 1", "in 2", "out 2", "in 3", "out 3"])
        #expect(!lock.isHeld("role"))
    }

    @Test func keysAreIndependent() async {
        let lock = KeyedAsyncLock()
        let a = await lock.acquire("a")
        let b = await lock.acquire("b")
        #expect(lock.isHeld("a") && lock.isHeld("b"))
        b.release()
        #expect(lock.isHeld("a") && !lock.isHeld("b"))
        a.release()
        #expect(!lock.isHeld("a"))
    }

    /// Releasing a hold twice must not also release the next holder's turn: with two waiters queued, a second
    /// release of the first hold would let the third in while the second still holds the key.
    @Test func aHoldReleasesOnceAndADroppedHoldReleasesItsKey() async throws {
        let lock = KeyedAsyncLock()
        let log = Log()
        let first = await lock.acquire("role")
        let second = Task {
            let hold = await lock.acquire("role")
            await log.add("second in")
            try await Task.sleep(for: .milliseconds(300))
            await log.add("second out")
            hold.release()
        }
        try await Self.waitUntil { lock.waiterCount("role") == 1 }
        let third = Task {
            let hold = await lock.acquire("role")
            await log.add("third in")
            hold.release()
        }
        try await Self.waitUntil { lock.waiterCount("role") == 2 }
        first.release()
        try await Self.waitUntil { await log.events == ["second in"] }
        first.release()
        try await second.value
        await third.value
        #expect(await log.events == ["second in", "second out", "third in"])

        do { _ = await lock.acquire("dropped") }
        #expect(!lock.isHeld("dropped"), "a hold dropped without release frees its key")
    }
}
