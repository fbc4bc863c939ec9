import Synchronization

/// Runs `operation` with a deadline: after `timeout` the caller gets `timeoutError` at once, even if the operation
/// ignores cancellation (a connection pool that keeps retrying an unreachable server, for example). The operation
/// is cancelled and finishes in the background. A cancelled caller gets `CancellationError` at once, the same way.
///
/// This is the one place where product code starts unstructured tasks: a structured task group cannot return
/// before all its children have ended, which is exactly what a deadline must not wait for.
public func withDeadline<Value: Sendable>(
    _ timeout: Duration, timeoutError: @autoclosure @escaping @Sendable () -> any Error,
    operation: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let race = DeadlineRace<Value>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            guard race.install(continuation) else { return }
            let work = Task {
                let result: Result<Value, any Error>
                do { result = .success(try await operation()) } catch { result = .failure(error) }
                race.settle(result)
            }
            // Cancelled as soon as the race settles, so no sleeping task outlives a call.
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { race.settle(.failure(timeoutError())) }
            }
            race.track(work: work, timer: timer)
        }
    } onCancel: {
        race.settle(.failure(CancellationError()))
    }
}

/// The operation, its timer and the caller's cancellation racing to settle one call: the first outcome resumes the
/// caller, cancels the operation (a no-op when it is the operation that finished) and the timer; later ones are
/// ignored.
private final class DeadlineRace<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var settled = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Installs the caller's continuation. Returns `false` when the race already settled (the caller was cancelled
    /// before it began), after resuming the continuation with `CancellationError`.
    func install(_ continuation: CheckedContinuation<Value, any Error>) -> Bool {
        let installed = state.withLock { state -> Bool in
            guard !state.settled else { return false }
            state.continuation = continuation
            return true
        }
        if !installed { continuation.resume(throwing: CancellationError()) }
        return installed
    }

    /// Remembers the tasks to cancel when the race settles; cancels them at once if it already has.
    func track(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let settled = state.withLock { state -> Bool in
            state.tasks = [work, timer]
            return state.settled
        }
        if settled {
            work.cancel()
            timer.cancel()
        }
    }

    /// Settles the race with `outcome` unless it is settled already.
    func settle(_ outcome: Result<Value, any Error>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<Value, any Error>?, [Task<Void, Never>]) in
            guard !state.settled else { return (nil, []) }
            state.settled = true
            defer { state.continuation = nil }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(with: outcome)
    }
}
