/// Queues concurrent commits so that one writer applies many of them in a single physical transaction (store
/// commits; also the target engines' revocations, where many users are dropped in one transaction).
///
/// Callers ``submit(_:)`` a batch and wait for its own `Output`. The first caller that finds no writer active becomes the *leader*: it takes
/// every queued batch (up to ``maximumGroupSize``), hands the group to the `apply` closure given at creation, and
/// resumes each waiter with its own result. While the leader is inside `apply`, new submissions queue up and form the
/// next group. When the leader's own batch is done it hands leadership to the oldest waiter, so no caller drains the
/// queue forever.
///
/// The queue knows nothing about storage: `apply` must apply the whole group in one transaction, report one result per
/// batch (in order), and return only after the transaction is durable. If `apply` throws, every batch of the group
/// fails with that error. No waiter is resumed before `apply` returned, so nobody is acknowledged before the commit.
///
/// Cancelling a caller does not withdraw its batch, and cancelling the leader does not cancel its group: `apply` runs
/// outside the leader's task, so the batch is applied or fails with its group whatever one caller does.
public actor GroupCommitQueue<Batch: Sendable, Output: Sendable> {
    /// Applies a group of batches in one transaction and returns one result per batch, in order.
    public typealias Apply = @Sendable ([Batch]) async throws -> [Result<Output, any Error>]

    /// Why a waiting caller was woken.
    private enum Wakeup: Sendable {
        /// The caller's batch was applied (or failed) as part of another leader's group.
        case finished(Result<Output, any Error>)
        /// The caller is the new leader; its batch is no longer queued.
        case lead
    }

    private struct Waiter {
        var batch: Batch
        var continuation: CheckedContinuation<Wakeup, Never>
    }

    /// The largest number of batches applied in one transaction.
    public let maximumGroupSize: Int
    /// How long a new leader waits for companions before applying (`nil`: not at all).
    public let gatheringWindow: Duration?
    private let apply: Apply
    private var waiters: [Waiter] = []
    private var hasLeader = false
    private var isClosed = false
    private var idleContinuations: [CheckedContinuation<Void, Never>] = []

    /// Creates a queue.
    ///
    /// - Parameters:
    ///   - maximumGroupSize: The largest number of batches applied in one transaction (at least 1).
    ///   - gatheringWindow: How long a caller that finds the queue idle waits for others before applying, so a
    ///     burst that arrives together is applied together (for work far slower than the window).
    ///   - apply: Applies one group durably; see the type documentation for the contract.
    public init(maximumGroupSize: Int = 256, gatheringWindow: Duration? = nil, apply: @escaping Apply) {
        precondition(maximumGroupSize >= 1, "a group holds at least one batch")
        self.maximumGroupSize = maximumGroupSize
        self.gatheringWindow = gatheringWindow
        self.apply = apply
    }

    /// Queues a batch and returns its output once it is durably applied, or throws the error its group or batch
    /// failed with.
    ///
    /// Throws ``LeaseholdError/Code/storeUnavailable`` after ``close()``.
    @discardableResult
    public func submit(_ batch: Batch) async throws -> Output {
        guard !isClosed else { throw LeaseholdError(.storeUnavailable, "the store is closed") }
        if hasLeader {
            let wakeup = await withCheckedContinuation { continuation in
                waiters.append(Waiter(batch: batch, continuation: continuation))
            }
            if case .finished(let result) = wakeup { return try result.get() }
        }
        hasLeader = true
        return try await lead(with: batch)
    }

    /// Refuses new batches and waits until every batch already queued has been applied.
    public func close() async {
        isClosed = true
        guard hasLeader else { return }
        await withCheckedContinuation { idleContinuations.append($0) }
    }

    /// Applies the leader's batch together with the oldest queued batches, then passes leadership on.
    private func lead(with batch: Batch) async throws -> Output {
        if let gatheringWindow, waiters.count < maximumGroupSize - 1 { try? await Task.sleep(for: gatheringWindow) }
        let followers = waiters.prefix(maximumGroupSize - 1)
        waiters.removeFirst(followers.count)
        let group = [batch] + followers.map(\.batch)

        var results: [Result<Output, any Error>]
        do {
            // Not inherited by an unstructured task: a caller that gives up must not fail the batches of the others.
            results = try await Task { [apply] in try await apply(group) }.value
            if results.count != group.count {
                results = Array(
                    repeating: .failure(
                        LeaseholdError(.internalError, "group commit returned the wrong number of results")
                    ),
                    count: group.count
                )
            }
        } catch {
            results = Array(repeating: .failure(error), count: group.count)
        }

        for (follower, result) in zip(followers, results.dropFirst()) {
            follower.continuation.resume(returning: .finished(result))
        }
        handOverLeadership()
        return try results[0].get()
    }

    /// Wakes the oldest waiter as the next leader, or marks the queue idle.
    private func handOverLeadership() {
        if waiters.isEmpty {
            hasLeader = false
            for continuation in idleContinuations { continuation.resume() }
            idleContinuations.removeAll()
        } else {
            waiters.removeFirst().continuation.resume(returning: .lead)
        }
    }
}
