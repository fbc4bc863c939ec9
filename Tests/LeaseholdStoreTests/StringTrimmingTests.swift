import LeaseholdCore
import Testing

@Suite("White space trimming")
struct StringTrimmingTests {
    @Test(arguments: [
        ("  db-admin\t", "db-admin"),
        ("\n\r\u{0B}\u{0C} x y \u{00A0}\u{2003}\u{2028}", "x y"),
        ("inner  space\tkept", "inner  space\tkept"),
        ("", ""),
        (" \t\n ", ""),
        ("é\u{0301} ", "é\u{0301}"),
    ])
    func trimsUnicodeWhiteSpaceAtBothEndsOnly(_ text: String, _ expected: String) {
        #expect(text.trimmingWhitespace() == expected)
        #expect(text[...].trimmingWhitespace() == expected)
    }

    @Test func durationsAcceptSurroundingWhiteSpaceButNotInside() throws {
        #expect(try TTL.parse(" 1h30m\n").seconds == 5_400)
        #expect(try TTL.parse("\t90 ").seconds == 90)
        // Every spelling is bounded (a plain integer was not: 10^16 seconds trapped date arithmetic later).
        #expect(try TTL.parse("999999999999").seconds == 999_999_999_999)
        for huge in ["1000000000000", "9223372036854775807", "10000000000000000"] {
            #expect(throws: LeaseholdError.self) { _ = try TTL.parse(huge) }
        }
        #expect(throws: LeaseholdError.self) { _ = try TTL.parse(" 1 h ") }
    }
}
