import LeaseholdCore
import Synchronization
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
                // Ignores cancellation, like a pool retrying an unreachable server: a detached task's value is awaited
                // to its end whatever happens to the awaiting task.
                await Task.detached { try? await Task.sleep(for: .seconds(30)) }.value
                return 1
            }
        }
        // The operation would run for 30 s; the caller gets its answer long before that. The bound is loose because
        // the whole suite shares two cores with this test (CI measured 1.4 s for the 200 ms deadline under load).
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aCancelledCallerIsAnsweredAtOnceWhateverTheOperationDoes() async throws {
        let started = ContinuousClock.now
        let caller = Task {
            try await withDeadline(.seconds(60), timeoutError: LeaseholdError(.targetUnavailable, "late")) { () async -> Int in
                await Task.detached { try? await Task.sleep(for: .seconds(30)) }.value
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        caller.cancel()
        await #expect(throws: CancellationError.self) { _ = try await caller.value }
        // Neither the 30 s operation nor the 60 s deadline: loose bound for a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aCallerCancelledBeforeItBeginsNeverRunsTheOperation() async throws {
        let ran = Mutex(false)
        let caller = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await withDeadline(.seconds(60), timeoutError: LeaseholdError(.targetUnavailable, "late")) { () async -> Int in
                ran.withLock { $0 = true }
                return 1
            }
        }
        await #expect(throws: CancellationError.self) { _ = try await caller.value }
        try await Task.sleep(for: .milliseconds(50))
        #expect(ran.withLock { $0 } == false)
    }
}
