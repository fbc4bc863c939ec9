import Foundation
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
        await #expect(throws: LeaseholdError.self) { try await throttle.check("target", now: start.addingTimeInterval(202)) }

        // Full again later, when the flood's failures have left the window: those are dropped first, all of them.
        let missing = LoginThrottle.capacity - tracked
        for index in 0..<missing { await throttle.recordFailure("second-\(index)", now: start.addingTimeInterval(450)) }
        await throttle.recordFailure("later", now: start.addingTimeInterval(451))
        #expect(await throttle.trackedKeys == missing + 3, "target, fresh, the second wave and later")
        await #expect(throws: LeaseholdError.self) { try await throttle.check("target", now: start.addingTimeInterval(452)) }
    }
}
