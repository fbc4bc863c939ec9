import Synchronization

/// Runs `operation` with a deadline: after `timeout` the caller gets `timeoutError` at once, even if the operation
/// ignores cancellation (a connection pool that keeps retrying an unreachable server, for example). The operation
/// is cancelled and finishes in the background.
///
/// This is the one place where product code starts unstructured tasks: a structured task group cannot return
/// before all its children have ended, which is exactly what a deadline must not wait for.
public func withDeadline<Value: Sendable>(
    _ timeout: Duration, timeoutError: @autoclosure @escaping @Sendable () -> any Error,
    operation: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let settled = Mutex(false)
    let claim: @Sendable () -> Bool = {
        settled.withLock { done in
            defer { done = true }
            return !done
        }
    }
    // The timer is cancelled as soon as the operation settles, so no sleeping task outlives a call.
    let timer = TimerSlot()
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
        let work = Task {
            let result: Result<Value, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            if claim() {
                timer.cancel()
                continuation.resume(with: result)
            }
        }
        timer.start {
            try? await Task.sleep(for: timeout)
            if claim() {
                work.cancel()
                continuation.resume(throwing: timeoutError())
            }
        }
    }
}

/// The deadline's timer task, cancellable from the operation's task (also when it finishes before the timer
/// was even started: then the timer is cancelled at once).
private final class TimerSlot: Sendable {
    private struct State {
        var task: Task<Void, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    func start(_ body: @escaping @Sendable () async -> Void) {
        let task = Task(operation: body)
        let cancelNow = state.withLock { state -> Bool in
            state.task = task
            return state.cancelled
        }
        if cancelNow { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state -> Task<Void, Never>? in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }
}
