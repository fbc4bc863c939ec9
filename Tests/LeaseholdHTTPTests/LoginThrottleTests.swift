import Foundation
import Synchronization
import LeaseholdCore
@testable import LeaseholdService
import Testing

@Suite("Login throttle")
struct LoginThrottleTests {
    /// At capacity, a new name first drops the counters whose failures are all outside the window, then the tenth
    /// whose newest failure is oldest: a flood of fresh names costs the attacker its own old counters first, and a
    /// recent lockout survives.
    @Test func aFloodOfNewNamesEvictsTheOldestCountersAndKeepsARecentLockout() async throws {
        let throttle = LoginThrottle(maximumFailures: 3, window: 300)
        let start = Date(timeIntervalSince1970: 1_000_000)
        for index in 0..<(LoginThrottle.capacity - 1) {
            await throttle.recordFailure("flood-\(index)", now: start.addingTimeInterval(Double(index % 100)))
        }
        for _ in 0..<3 { await throttle.recordFailure("target", now: start.addingTimeInterval(200)) }
        #expect(await throttle.trackedKeys == LoginThrottle.capacity)

        await throttle.recordFailure("fresh", now: start.addingTimeInterval(201))
        let tracked = await throttle.trackedKeys
        #expect(tracked == LoginThrottle.capacity - LoginThrottle.capacity / 10 + 1, "one tenth evicted, then the new name")
        await #expect(throws: LeaseholdError.self) { try await throttle.admit("target", now: start.addingTimeInterval(202)) }

        // Full again later, when the flood's failures have left the window: those are dropped first, all of them.
        let missing = LoginThrottle.capacity - tracked
        for index in 0..<missing { await throttle.recordFailure("second-\(index)", now: start.addingTimeInterval(450)) }
        await throttle.recordFailure("later", now: start.addingTimeInterval(451))
        #expect(await throttle.trackedKeys == missing + 3, "target, fresh, the second wave and later")
        await #expect(throws: LeaseholdError.self) { try await throttle.admit("target", now: start.addingTimeInterval(452)) }
    }

    /// Concurrent guesses cannot all pass the check before the first failure is recorded: attempts still running
    /// count against the budget (before, all 100 ran).
    @Test func concurrentGuessesAreBoundedByTheBudget() async throws {
        let throttle = LoginThrottle(maximumFailures: 10, window: 300)
        let now = Date()
        let release = Gate()
        let started = AsyncStream<Void>.makeStream()
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    do {
                        try await throttle.guarding("approle/web|10.0.0.1", now: now) {
                            started.continuation.yield()
                            while !release.isOpen { try? await Task.sleep(for: .milliseconds(5)) }
                            throw LeaseholdError.invalidRequest("invalid role or secret id")
                        }
                    } catch let error as LeaseholdError where error.code == .rateLimited {
                        return false
                    } catch {}
                    return true
                }
            }
            // Every task has either been refused or is waiting inside its attempt; then the attempts fail.
            var admitted = 0
            for await _ in started.stream {
                admitted += 1
                if admitted == 40 { break }
            }
            try? await Task.sleep(for: .milliseconds(100))
            release.open()
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 40, "4 × the limit may run at once without earlier failures")
        await #expect(throws: LeaseholdError.self) { try await throttle.admit("approle/web|10.0.0.1", now: now) }
    }
}

/// Holds attempts until opened.
private final class Gate: Sendable {
    private let state = Atomic(false)
    var isOpen: Bool { state.load(ordering: .acquiring) }
    func open() { state.store(true, ordering: .releasing) }
}
