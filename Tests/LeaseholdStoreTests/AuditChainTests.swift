import Foundation
import LeaseholdAuditChain
import LeaseholdCore
import Testing

@Suite("Audit hash chain")
struct AuditChainTests {
    static func records(_ count: Int) throws -> [AuditRecord] {
        let events = (1...count).map {
            StoreConformanceTests.event("e\($0)", time: Date(timeIntervalSince1970: Double($0)))
        }
        return try AuditChain.link(events, after: .genesis)
    }

    @Test func hashCoversPreviousSequenceAndEvent() throws {
        let event = StoreConformanceTests.event("x", time: Date(timeIntervalSince1970: 1))
        let base = try AuditChain.hash(previous: AuditChain.genesisHash, sequence: 1, event: event)
        #expect(base.count == 32)
        #expect(try AuditChain.hash(previous: AuditChain.genesisHash, sequence: 2, event: event) != base)
        #expect(try AuditChain.hash(previous: Data(repeating: 1, count: 32), sequence: 1, event: event) != base)
        var other = event
        other.details = ["k": "v"]
        #expect(try AuditChain.hash(previous: AuditChain.genesisHash, sequence: 1, event: other) != base)
    }

    @Test func intactChainVerifies() throws {
        let chain = try Self.records(5)
        #expect(AuditChain.verify(chain, startingAfter: AuditChain.genesisHash, previousSequence: 0) == nil)
        #expect(AuditChain.verify(Array(chain[2...]), startingAfter: chain[1].hash, previousSequence: 2) == nil)
        #expect(AuditChain.verify([], startingAfter: AuditChain.genesisHash, previousSequence: 0) == nil)
    }

    @Test func detectsAlteration() throws {
        var chain = try Self.records(5)
        chain[2].event.path = "sys/evil"
        #expect(
            AuditChain.verify(chain, startingAfter: AuditChain.genesisHash, previousSequence: 0)
                == AuditChainBreak(sequence: 3, kind: .altered)
        )

        // Rewriting a record together with its own hash still breaks the link from its successor.
        var rehashed = try Self.records(5)
        rehashed[2].event.path = "sys/evil"
        rehashed[2].hash = try AuditChain.hash(
            previous: rehashed[2].previousHash,
            sequence: 3,
            event: rehashed[2].event
        )
        #expect(
            AuditChain.verify(rehashed, startingAfter: AuditChain.genesisHash, previousSequence: 0)
                == AuditChainBreak(sequence: 3, kind: .altered)
        )
    }

    @Test func detectsDeletionAndReordering() throws {
        var deleted = try Self.records(5)
        deleted.remove(at: 2)
        #expect(
            AuditChain.verify(deleted, startingAfter: AuditChain.genesisHash, previousSequence: 0)
                == AuditChainBreak(sequence: 3, kind: .deleted)
        )

        var swapped = try Self.records(5)
        swapped.swapAt(1, 3)
        #expect(
            AuditChain.verify(swapped, startingAfter: AuditChain.genesisHash, previousSequence: 0)
                == AuditChainBreak(sequence: 2, kind: .reordered)
        )

        var duplicated = try Self.records(3)
        duplicated.insert(duplicated[0], at: 1)
        #expect(
            AuditChain.verify(duplicated, startingAfter: AuditChain.genesisHash, previousSequence: 0)
                == AuditChainBreak(sequence: 1, kind: .reordered)
        )

        let chain = try Self.records(3)
        #expect(
            AuditChain.verify(chain, startingAfter: Data(repeating: 9, count: 32), previousSequence: 0)
                == AuditChainBreak(sequence: 0, kind: .altered)
        )
    }

    @Test(arguments: [0.0, 0.000001, 1_760_000_000.999999, 1_760_000_000.5, 4_102_444_800.123456, 1_234_567_890.000001])
    func timestampsRoundTrip(seconds: Double) throws {
        let text = AuditEvent.timestamp(Date(timeIntervalSince1970: seconds))
        let date = try #require(AuditTimestamp.date(from: text))
        #expect(AuditEvent.timestamp(date) == text)
        #expect(AuditTimestamp.date(from: "2025-01-01T00:00:00Z") == nil)
    }

    @Test func columnsRoundTrip() throws {
        for record in try Self.records(3) {
            #expect(try AuditRecordColumns(record).makeRecord().event.canonicalBytes() == record.event.canonicalBytes())
        }
    }
}

@Suite("Audit query time bounds")
struct AuditQueryTimeTests {
    /// The canonical text of `micros` microseconds after the epoch, built from integers.
    static func text(micros: Int64) -> String {
        let whole = AuditEvent.timestamp(Date(timeIntervalSince1970: TimeInterval(micros / 1_000_000)))
        return whole.dropLast(8) + String(format: ".%06lldZ", micros % 1_000_000)
    }

    /// The stores compare canonical timestamps: the bound must be exactly the next microsecond after the instant
    /// (a bound of +1 µs falls on the instant itself about one time in five, and the record is missed).
    @Test func includeThroughCoversTheInstantAndNothingLater() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let micros = Int64.random(in: 1_700_000_000_000_000...2_100_000_000_000_000, using: &generator)
            let instant = try #require(AuditTimestamp.date(from: Self.text(micros: micros)))
            var query = AuditQuery()
            query.includeThrough(instant)
            #expect(AuditEvent.timestamp(try #require(query.until)) == Self.text(micros: micros + 1))
        }
    }
}

@Suite("Audit timestamps")
struct AuditTimestampFormatTests {
    /// The expected text, computed independently with Foundation's Gregorian calendar in UTC; stored rows and
    /// hash-chain inputs depend on the exact text.
    static func reference(micros: Int64) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(micros / 1_000_000)))
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!,
            parts.second!, micros % 1_000_000)
    }

    @Test func matchesFoundationAcrossTheCalendar() {
        var generator = SystemRandomNumberGenerator()
        let edges: [Int64] = [
            0, 999_999, 86_399_999_999, 951_782_400_000_000, 951_868_800_000_000, 4_107_542_400_000_000,
            1_798_761_599_999_999, 253_402_300_799_999_999,
        ]  // 1970, 2000-02-29, 2000-03-01, 2100-03-01, the end of 2026, the end of 9999
        let random = (0..<50_000).map { _ in Int64.random(in: 0..<253_402_300_800_000_000, using: &generator) }
        for micros in edges + random {
            let date = Date(timeIntervalSince1970: (Double(micros) + 0.5) / 1_000_000)
            let floored = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
            #expect(AuditEvent.timestamp(date) == Self.reference(micros: floored), "\(micros)")
        }
    }
}
