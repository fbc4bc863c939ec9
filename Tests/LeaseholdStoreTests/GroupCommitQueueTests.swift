import LeaseholdCore
import LeaseholdMigrations
import Synchronization
import Testing

@Suite("Group commit queue and key ranges")
struct GroupCommitQueueTests {
    @Test func concurrentSubmissionsShareGroupsAndGetTheirOwnResults() async throws {
        let groupSizes = Mutex<[Int]>([])
        let queue = GroupCommitQueue<Int, Void>(maximumGroupSize: 16) { group in
            groupSizes.withLock { $0.append(group.count) }
            try await Task.sleep(for: .milliseconds(5))
            return group.map { $0 % 10 == 0 ? .failure(LeaseholdError(.conflict, "odd one out")) : .success(()) }
        }
        let failures = try await withThrowingTaskGroup(of: Int?.self) { group in
            for value in 0..<200 {
                group.addTask {
                    do {
                        try await queue.submit(value)
                        return nil
                    } catch let error as LeaseholdError where error.code == .conflict {
                        return value
                    }
                }
            }
            return try await group.reduce(into: Set<Int>()) { if let value = $1 { $0.insert(value) } }
        }
        #expect(failures == Set(stride(from: 0, to: 200, by: 10)))
        let sizes = groupSizes.withLock { $0 }
        #expect(sizes.reduce(0, +) == 200)
        #expect(sizes.max() ?? 0 > 1)
        #expect(sizes.allSatisfy { $0 <= 16 })
    }

    @Test func aFailedGroupFailsEveryBatchAndClosedQueuesRefuse() async throws {
        let queue = GroupCommitQueue<Int, Void> { _ in throw LeaseholdError(.storeUnavailable, "disk full") }
        await #expect(throws: LeaseholdError(.storeUnavailable, "")) { try await queue.submit(1) }
        await queue.close()
        await #expect(throws: LeaseholdError(.storeUnavailable, "")) { try await queue.submit(2) }
    }

    /// A cancelled caller neither withdraws its batch nor cancels the group it leads: the group's other callers are
    /// not failed by one caller giving up (the PostgreSQL store's apply reacts to cancellation at once).
    @Test(.timeLimit(.minutes(1))) func aCancelledLeaderDoesNotCancelItsGroup() async throws {
        let sawCancellation = Mutex<[Bool]>([])
        let entered = AsyncStream.makeStream(of: Void.self)
        let queue = GroupCommitQueue<Int, Void> { group in
            entered.continuation.yield()
            try? await Task.sleep(for: .milliseconds(100))
            sawCancellation.withLock { $0.append(Task.isCancelled) }
            return group.map { _ in .success(()) }
        }
        let leader = Task { try await queue.submit(1) }
        var iterator = entered.stream.makeAsyncIterator()
        await iterator.next()  // the leader is inside apply
        let follower = Task { try await queue.submit(2) }
        try await Task.sleep(for: .milliseconds(20))
        leader.cancel()
        try await leader.value
        try await follower.value
        #expect(sawCancellation.withLock { $0 } == [false, false])
    }

    @Test func keyRangeUpperBounds() {
        #expect(StoreKeyRange(prefix: "").upperBound == nil)
        #expect(StoreKeyRange(prefix: "ab").upperBound == "ac")
        #expect(StoreKeyRange(prefix: "a\u{10FFFF}").upperBound == "b")
        #expect(StoreKeyRange(prefix: "\u{10FFFF}\u{10FFFF}").upperBound == nil)
        #expect(StoreKeyRange(prefix: "a\u{D7FF}").upperBound == "a\u{E000}")
    }
}
