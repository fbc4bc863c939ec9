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
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
        let work = Task {
            do {
                let value = try await operation()
                if claim() { continuation.resume(returning: value) }
            } catch {
                if claim() { continuation.resume(throwing: error) }
            }
        }
        Task {
            try? await Task.sleep(for: timeout)
            if claim() {
                work.cancel()
                continuation.resume(throwing: timeoutError())
            }
        }
    }
}
