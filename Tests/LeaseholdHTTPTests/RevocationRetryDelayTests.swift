@testable import LeaseholdService
import Testing

/// How long a failing revocation waits before its next attempt.
@Suite("Revocation retry delays")
struct RevocationRetryDelayTests {
    @Test func delaysDoubleToFifteenSecondsThenSlowToTenMinutesAfterAboutAnHour() {
        #expect(LeaseRevoker.retryDelay(afterAttempts: 1) == 2)
        #expect(LeaseRevoker.retryDelay(afterAttempts: 3) == 8)
        #expect(LeaseRevoker.retryDelay(afterAttempts: 4) == 15)
        #expect(LeaseRevoker.retryDelay(afterAttempts: 240) == 15)
        #expect(LeaseRevoker.retryDelay(afterAttempts: 241) == 600)
        #expect(LeaseRevoker.retryDelay(afterAttempts: 100_000) == 600)
        // About an hour of attempts at the short delay before slowing down.
        let firstHour = (1...240).map { LeaseRevoker.retryDelay(afterAttempts: $0) }.reduce(0, +)
        #expect((3000...4000).contains(firstHour))
    }
}
