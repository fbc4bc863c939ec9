import Dispatch
import Foundation
import LeaseholdCore
import Synchronization
import Testing

@Suite("Blocking work limiter")
struct BlockingWorkLimiterTests {
    /// A latch that blocked work waits on (a thread, not a task), released from anywhere.
    final class Latch: Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        private let waiters: Int
        private let openedByWatchdog = Mutex(false)
        init(waiters: Int) { self.waiters = waiters }
        func wait() { semaphore.wait() }
        func open() { for _ in 0..<waiters { semaphore.signal() } }
        /// Opens the latch from a watchdog thread, and remembers that it had to.
        func rescue() {
            openedByWatchdog.withLock { $0 = true }
            open()
        }
        var wasRescued: Bool { openedByWatchdog.withLock { $0 } }
    }

    /// The order in which bodies ran.
    final class RunOrder: Sendable {
        private let entries = Mutex<[Int]>([])
        func append(_ index: Int) { entries.withLock { $0.append(index) } }
        var all: [Int] { entries.withLock { $0 } }
    }

    /// Bodies that block their thread do not block Swift's cooperative pool: with more bodies parked than the pool
    /// has threads, other tasks still run. (Run inline, the bodies would take every pool thread and the task below
    /// would never finish; a watchdog thread then opens the latch so that the test fails instead of hanging.)
    @Test func blockedBodiesLeaveTheCooperativePoolFree() async throws {
        let parked = ProcessInfo.processInfo.activeProcessorCount + 1
        let limiter = BlockingWorkLimiter(maximumRunning: parked, maximumWaiting: 0, refusal: "busy")
        let latch = Latch(waiters: parked)
        DispatchQueue.global().asyncAfter(deadline: .now() + 20) { latch.rescue() }
        let bodies = (0..<parked).map { index in
            Task { try await limiter.run { latch.wait(); return index } }
        }
        try await KeyedAsyncLockTests.waitUntil { limiter.runningCount == parked }
        let other = await Task.detached { (1...1_000).reduce(0, +) }.value
        #expect(other == 500_500)
        let rescued = latch.wasRescued
        #expect(!rescued, "the other task ran only once the watchdog freed the bodies")
        latch.open()
        for (index, body) in bodies.enumerated() { #expect(try await body.value == index) }
        #expect(limiter.runningCount == 0)
    }

    /// At most `maximumRunning` bodies run; `maximumWaiting` callers queue and then run in arrival order; a caller
    /// beyond that is refused at once with `rateLimited` and the given message; a body's error reaches its caller.
    @Test func boundsRunningAndWaitingCallersAndRefusesTheRest() async throws {
        let limiter = BlockingWorkLimiter(maximumRunning: 1, maximumWaiting: 2, refusal: "too many; retry later")
        let latch = Latch(waiters: 1)
        let order = RunOrder()
        let first = Task { try await limiter.run { latch.wait() } }
        try await KeyedAsyncLockTests.waitUntil { limiter.runningCount == 1 }
        var queued: [Task<Void, any Error>] = []
        for index in 1...2 {
            queued.append(Task { try await limiter.run { order.append(index) } })
            try await KeyedAsyncLockTests.waitUntil { limiter.waitingCount == index }
        }

        let refused = await #expect(throws: LeaseholdError.self) { try await limiter.run { 0 } }
        let refusedCode = refused?.code
        #expect(refusedCode == .rateLimited)
        #expect(refused?.message == "too many; retry later")
        #expect(limiter.runningCount == 1)
        #expect(order.all.isEmpty, "nobody runs while the slot is taken")

        latch.open()
        try await first.value
        for task in queued { try await task.value }
        #expect(order.all == [1, 2])
        #expect(limiter.runningCount == 0 && limiter.waitingCount == 0)

        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await limiter.run { throw Failure() } }
        #expect(limiter.runningCount == 0, "a failing body gives its slot back")
    }
}
