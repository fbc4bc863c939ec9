import Foundation
import LeaseholdAuditChain
import LeaseholdCore
import Testing

/// `SortedJSONEncoder` replaces Foundation's `JSONEncoder` for stored values and audit rows, whose hash chain covers
/// the encoded bytes: for every value both must write the same bytes (differential testing over fixtures and random
/// values), and fail on the same values.
@Suite("Sorted JSON encoder")
struct SortedJSONEncoderTests {
    static func foundation(escapesSlashes: Bool, dates: JSONEncoder.DateEncodingStrategy) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = escapesSlashes ? [.sortedKeys] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = dates
        return encoder
    }

    /// Foundation's encoders matching ``SortedJSONEncoder/audit`` and the store's encoder.
    static let pairs: [(ours: SortedJSONEncoder, theirs: JSONEncoder)] = [
        (SortedJSONEncoder(escapesSlashes: true, dateEncoding: .secondsSince1970),
         foundation(escapesSlashes: true, dates: .secondsSince1970)),
        (SortedJSONEncoder.audit,
         foundation(escapesSlashes: false, dates: .custom { date, encoder in
             var container = encoder.singleValueContainer()
             try container.encode(AuditEvent.timestamp(date))
         })),
    ]

    static func expectSameBytes<Value: Encodable>(_ value: Value, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (ours, theirs) in pairs {
            let expected = Array(try theirs.encode(value))
            let actual = try ours.encode(value)
            #expect(
                actual == expected,
                "\(String(decoding: actual, as: UTF8.self)) != \(String(decoding: expected, as: UTF8.self))",
                sourceLocation: sourceLocation)
        }
    }

    struct Scalars: Codable {
        var string = "plain"
        var bool = true
        var int = Int.min
        var int8 = Int8.min
        var int16 = Int16.max
        var int32 = Int32.min
        var int64 = Int64.max
        var uint = UInt.max
        var uint8 = UInt8.max
        var uint16 = UInt16.max
        var uint32 = UInt32.max
        var uint64 = UInt64.max
        var double = 0.1
        var wholeDouble = 3.0
        var negativeZero = -0.0
        var tiny = 5e-324
        var huge = 1.7976931348623157e308
        var large = 1e16
        var float: Float = 0.1
        var wholeFloat: Float = 2
        var date = Date(timeIntervalSince1970: 1_764_412_345.678_9)
        var data = Data([0, 1, 2, 0xFE, 0xFF])
        var url = URL(string: "https://example.com/a?b=c")!
        var decimal = Decimal(string: "12.3400")!
        var absent: String? = nil
        var present: Int? = 7
        var ints = [1, -2, 3]
        var nested = [["a"], [], ["b", "c"]]
        var optionals: [String?] = ["x", nil]
        var dictionary = ["z": 1, "a": 2, "é": 3, "Z": 4, "_": 5, "10": 6, "9": 7]
        var intKeys = [10: "ten", 9: "nine"]
        var dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -1.5)]
    }

    enum Shape: Codable {
        case circle(radius: Double)
        case polygon([Int], label: String?)
        case empty
    }

    struct Empty: Encodable {}

    /// Encodes nothing at all: both encoders write `{}` inside a container and refuse it at the top level.
    struct Silent: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    /// Writes one key twice: the last value wins.
    struct Twice: Encodable {
        enum Keys: String, CodingKey { case key }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(1, forKey: .key)
            try container.encode("last", forKey: .key)
        }
    }

    /// Asks twice for the same key's nested containers: both encoders continue the same container.
    struct Reopened: Encodable {
        enum Keys: String, CodingKey { case object, array, first, second }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var object = container.nestedContainer(keyedBy: Keys.self, forKey: .object)
            try object.encode(1, forKey: .first)
            var array = container.nestedUnkeyedContainer(forKey: .array)
            try array.encode("a")
            object = container.nestedContainer(keyedBy: Keys.self, forKey: .object)
            try object.encode(2, forKey: .second)
            array = container.nestedUnkeyedContainer(forKey: .array)
            try array.encode("b")
        }
    }

    class Base: Encodable {
        var inherited = "base"
    }

    final class Derived: Base {
        var own = ["x": "y"]
        enum Keys: String, CodingKey { case own }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(own, forKey: .own)
            try super.encode(to: container.superEncoder())
        }
    }

    @Test func writesFoundationsBytesForFixtures() throws {
        try Self.expectSameBytes(Scalars())
        try Self.expectSameBytes([Shape.circle(radius: 2), .polygon([1, 2], label: nil), .polygon([], label: "p"), .empty])
        try Self.expectSameBytes(Empty())
        #expect(throws: EncodingError.self) { _ = try SortedJSONEncoder().encode(Silent()) }
        #expect(throws: EncodingError.self) { _ = try JSONEncoder().encode(Silent()) }
        try Self.expectSameBytes([Silent()])
        try Self.expectSameBytes(Twice())
        try Self.expectSameBytes(Reopened())
        try Self.expectSameBytes(Derived())
        try Self.expectSameBytes("top-level / \"string\"")
        try Self.expectSameBytes(42)
        try Self.expectSameBytes(Optional<Int>.none)
        try Self.expectSameBytes([JSONValue.object(["b": .array([.null, .bool(false), .number(1.5)]), "a": .string("/")])])
        try Self.expectSameBytes(AuditEvent(
            time: Date(timeIntervalSince1970: 1_764_412_345.123_456_7), requestID: "r", type: "response",
            operation: "read", path: "database/creds/app", actor: .anonymous, remoteAddress: "127.0.0.1:1",
            outcome: "allowed", details: ["lease_id": "database/creds/app/x", "b": "\u{1}\n"]))
    }

    @Test func writesFoundationsBytesForRandomValues() throws {
        var generator = JSONParserTests.SeededGenerator(state: 20_261_129)
        let pieces = ["a", "Z", "_", "/", "\\", "\"", "\u{0}", "\u{1f}", "\u{7f}", "\t", "\n", "\u{8}", "\u{c}", "\r",
                      "é", "中", "😀", "\u{2028}", " ", "0", "9", "<", "&"]
        func text() -> String {
            (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
        }
        for _ in 0..<2_000 {
            var details: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) { details[text()] = text() }
            let event = AuditEvent(
                time: Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_000_000_000_000_000, using: &generator)) / 1e6),
                requestID: text(), type: text(), operation: text(), path: text(),
                actor: AuditActor(), remoteAddress: text(), outcome: text(),
                errorClass: Bool.random(using: &generator) ? text() : nil, environment: text(), details: details)
            try Self.expectSameBytes(event)
            let number = Double(bitPattern: generator.next())
            if number.isFinite { try Self.expectSameBytes(["n": number]) }
            try Self.expectSameBytes([Int64(bitPattern: generator.next()): text()])
        }
    }

    @Test func refusesWhatFoundationRefuses() {
        for value in [Double.nan, .infinity, -.infinity] {
            #expect(throws: EncodingError.self) { _ = try SortedJSONEncoder().encode(["n": value]) }
            #expect(throws: EncodingError.self) { _ = try SortedJSONEncoder().encode([value]) }
            #expect(throws: EncodingError.self) { _ = try SortedJSONEncoder().encode(Float(value)) }
            #expect(throws: (any Error).self) { _ = try JSONEncoder().encode(["n": value]) }
        }
        var deep: JSONValue = .array([])
        for _ in 0..<600 { deep = .array([deep]) }
        #expect(throws: EncodingError.self) { _ = try SortedJSONEncoder().encode(deep) }
    }

    /// The nesting limit is Foundation's, to the level.
    @Test func refusesTheSameNestingAsFoundation() {
        var accepted: [Bool] = []
        for levels in 509...513 {
            var nested: JSONValue = .array([])
            for _ in 1..<levels { nested = .array([nested]) }
            let ours = (try? SortedJSONEncoder().encode(nested)) != nil
            let theirs = (try? JSONEncoder().encode(nested)) != nil
            #expect(ours == theirs, "\(levels) levels")
            accepted.append(ours)
        }
        #expect(accepted.contains(true) && accepted.contains(false))
    }

    /// The audit chain's canonical bytes, and so the hashes of rows already stored, are pinned: this event's bytes
    /// and chain hash are the ones the previous encoder (Foundation's `JSONEncoder`) produced. A change in escaping,
    /// key order or number spelling, here or in a toolchain, fails this test instead of breaking verification.
    @Test func canonicalBytesAndChainHashArePinned() throws {
        let event = AuditEvent(
            time: Date(timeIntervalSince1970: 1_764_412_345.5), requestID: "req-1", type: "request", operation: "update",
            path: "auth/token/create",
            actor: AuditActor(accessor: "acc/1", tokenHMAC: "hmac", displayName: "ci \"runner\"", policies: ["default", "root"], authMethod: "approle"),
            remoteAddress: "10.0.0.1:5", outcome: "allowed", errorClass: "x\n", environment: "prod",
            details: ["path": "a/b", "\u{FC}": "\u{1}", "Z": "1.5"])
        let expected = #"{"actor":{"accessor":"acc/1","authMethod":"approle","displayName":"ci \"runner\"","policies":["default","root"],"tokenHMAC":"hmac"},"details":{"Z":"1.5","path":"a/b","ü":"\u0001"},"environment":"prod","errorClass":"x\n","operation":"update","outcome":"allowed","path":"auth/token/create","remoteAddress":"10.0.0.1:5","requestID":"req-1","time":"2025-11-29T10:32:25.500000Z","type":"request"}"#
        #expect(String(decoding: try event.canonicalBytes(), as: UTF8.self) == expected)
        let hash = try AuditChain.hash(previous: AuditChain.genesisHash, sequence: 7, event: event)
        #expect(hash.hexString == "c9acab1f3e4ddc85c26860f1aef81bc3ee177c543e1b846e38f36c4d6122e4e3")
    }
}
