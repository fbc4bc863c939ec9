@testable import LeaseholdService
import Testing

/// The gate between a target transaction's commit and its issuer giving up: whichever comes first wins.
@Suite("Commit gate")
struct CommitGateTests {
    @Test func anAbandonedTransactionCannotCommitAnyMore() {
        let gate = CommitGate()
        #expect(gate.abandon() == false)  // nothing passed: the outcome is known, nothing will commit
        #expect(throws: CancellationError.self) { try gate.enterCommit() }
    }

    @Test func abandoningAfterTheGateReportsAPossibleCommit() throws {
        let gate = CommitGate()
        try gate.enterCommit()
        try gate.enterCommit()  // a retried transaction passes again
        #expect(gate.abandon() == true)
    }
}
