import LeaseholdCore
import Testing

@Suite("withDeadline")
struct DeadlineTests {
    @Test func aFastOperationReturnsItsValueAndErrors() async throws {
        #expect(try await withDeadline(.seconds(5), timeoutError: LeaseholdError(.targetUnavailable, "late")) { 42 } == 42)
        await #expect(throws: LeaseholdError(.invalidRequest, "")) {
            _ = try await withDeadline(.seconds(5), timeoutError: LeaseholdError(.targetUnavailable, "late")) { () async throws -> Int in
                throw LeaseholdError.invalidRequest("bad")
            }
        }
    }

    @Test func anOperationThatIgnoresCancellationStillTimesOutOnTime() async throws {
        let started = ContinuousClock.now
        await #expect(throws: LeaseholdError(.targetUnavailable, "")) {
            _ = try await withDeadline(.milliseconds(200), timeoutError: LeaseholdError(.targetUnavailable, "late")) { () async -> Int in
                // Ignores cancellation, like a pool retrying an unreachable server.
                let until = ContinuousClock.now + .seconds(2)
                while ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(50)) }
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(1))
    }
}
