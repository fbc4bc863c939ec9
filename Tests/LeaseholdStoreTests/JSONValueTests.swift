import Foundation
import LeaseholdCore
import Testing

/// `JSONValue.jsonBytes()` writes response bodies by hand; whatever it writes must parse back to the same value.
@Suite("JSONValue serialization")
struct JSONValueTests {
    static let hostileStrings: [String] = [
        "", "plain", "quote \" inside", "back\\slash", "slash / and </script>", "tab\tnew\nline\rreturn",
        String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) }), "del \u{7F}", "ünïcødé ✓ 😀", "\u{2028}\u{2029}",
        "\"}], \"injected\": true, \"x\": [\"",
    ]

    @Test func everyValueRoundTrips() throws {
        var members: [String: JSONValue] = [:]
        for (index, text) in Self.hostileStrings.enumerated() {
            members[text] = .string(text)
            members["n\(index)"] = .array([.string(text), .null, .bool(index % 2 == 0)])
        }
        let value: JSONValue = .object([
            "strings": .object(members),
            "numbers": .array([.number(0), .number(-1), .number(42), .number(8_999_999_999_999_999), .number(0.5),
                              .number(-2.25), .number(1e20), .number(5e-324), .number(1.0 / 3.0)]),
            "empty": .object([:]), "none": .array([]), "nested": .array([.array([.object(["a": .array([.null])])])]),
        ])
        let bytes = try value.jsonBytes()
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) == value)
        // Control characters never appear raw (they are escaped), so the body is one line of valid JSON.
        #expect(!bytes.contains { $0 < 0x20 })
    }

    @Test func nonFiniteNumbersAreRefused() {
        for number in [Double.nan, .infinity, -.infinity] {
            #expect(throws: LeaseholdError.self) { _ = try JSONValue.array([.number(number)]).jsonBytes() }
        }
    }
}
