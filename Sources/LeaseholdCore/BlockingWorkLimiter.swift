import Dispatch
import Synchronization

/// Runs CPU- or memory-heavy blocking work (password hashing) on threads of its own, at most ``maximumRunning`` at
/// once, with at most ``maximumWaiting`` callers queued in arrival order; a caller beyond that is refused with
/// ``LeaseholdError/Code/rateLimited`` at once.
///
/// Swift's cooperative pool has one thread per core: work that blocks it (one scrypt hash takes tens of
/// milliseconds and 32 MiB) stalls every other request, lease renewal and the reaper. Unauthenticated callers can
/// start such work, so it is bounded here in time (the queue) and in memory (the running count). A waiter cannot
/// be cancelled; the queue is short enough that it does not need to be.
public final class BlockingWorkLimiter: Sendable {
    /// How many bodies run at once.
    public let maximumRunning: Int
    /// How many callers may wait for a slot.
    public let maximumWaiting: Int
    /// What a refused caller is told (safe for clients and audit rows).
    private let refusal: String
    private let state = Mutex(State())

    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    /// Creates a limiter; `refusal` is the message of the `rateLimited` error a caller gets when the queue is full.
    public init(maximumRunning: Int, maximumWaiting: Int, refusal: String) {
        precondition(maximumRunning > 0 && maximumWaiting >= 0)
        self.maximumRunning = maximumRunning
        self.maximumWaiting = maximumWaiting
        self.refusal = refusal
    }

    /// Runs `body` on a thread outside the cooperative pool once a slot is free, and returns its result.
    public func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await acquire()
        defer { release() }
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Swift.Result<Result, any Error>, Never>) in
            DispatchQueue.global().async { continuation.resume(returning: Swift.Result { try body() }) }
        }
        return try outcome.get()
    }

    /// How many bodies run now (for tests and diagnostics).
    public var runningCount: Int { state.withLock { $0.running } }

    /// How many callers wait now (for tests and diagnostics).
    public var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Takes a slot, waiting in line for one, or throws if the line is full.
    private func acquire() async throws {
        enum Admission { case now, queued, refused }
        var admission = Admission.refused
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            admission = state.withLock { state in
                if state.running < maximumRunning {
                    state.running += 1
                    return .now
                }
                guard state.waiting.count < maximumWaiting else { return .refused }
                state.waiting.append(continuation)
                return .queued
            }
            if admission != .queued { continuation.resume() }
        }
        if admission == .refused { throw LeaseholdError(.rateLimited, refusal) }
    }

    /// Hands the slot to the oldest waiter, or frees it.
    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
