import Foundation
import LeaseholdCore
import Testing

/// `JSONParser` replaces `JSONDecoder` for request bodies: on every input both must agree on whether it is JSON
/// and, when it is, on the value (differential testing over a corpus and random mutations of it).
@Suite("JSON parser")
struct JSONParserTests {
    static let corpus: [String] = [
        #"{}"#, #"[]"#, #"null"#, #"true"#, #"false"#, #"0"#, #"-0"#, #"1"#, #"-12.5e+3"#, #"1E-2"#, #"0.000001"#,
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#, " \n\t{ \"spaced\" : [ 1 , 2 ] } \r\n",
        #"{"role_id":"8f2c","secret_id":"b1e9-44"}"#, #"["\u0041\u00e9\u4e2d\ud83d\ude00"]"#,
        #"["\"\\\/\b\f\n\r\t"]"#, #"{"ünï":"cødé ✓ 😀"}"#, #"[[[[[[[[[[]]]]]]]]]]"#, #"{"a":{"b":{"c":{}}}}"#,
        #"123456789012345678901234567890"#, #"1.7976931348623157e308"#, #"5e-324"#,
        // Invalid:
        "", " ", #"{"#, #"}"#, #"[1,]"#, #"{"a":1,}"#, #"{"a" 1}"#, #"{a:1}"#, #"['a']"#, #"01"#, #"-"#, #"1."#,
        #".5"#, #"1e"#, #"1e+"#, #"+1"#, #"NaN"#, #"Infinity"#, #"-Infinity"#, #"nul"#, #"tru"#, #"[1 2]"#,
        #"{"a":1}{"b":2}"#, #"[1]]"#, #"5e-7324"#, #"[-1e-999]"#, #"0e-999"#, #"0.000e1"#, "\"tab\there\"", #""\x""#, #""\u12""#, #""\u12G4""#, #""\ud800""#,
        #""\udc00""#, #""\ud800\u0041""#, "[\"\u{0}\"]", #"// comment"#, #"/* c */ {}"#, #"{"a":1 /* c */}"#,
        #"1e400"#, #"-1e400"#, #"[1e400]"#,
    ]

    /// Whatever Foundation refuses is refused, and whatever is accepted has Foundation's value. The parser is
    /// deliberately stricter where Vault's Go decoder is: trailing commas and NUL bytes.
    static func agree(_ bytes: [UInt8]) -> Bool {
        let ours = try? JSONParser.parse(bytes)
        let foundation = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        if ours == nil, foundation != nil { return bytes.contains(0) || hasTrailingComma(bytes) || repeatsAKey(bytes) }
        if ours != nil, foundation == nil { return hasZeroWithExponent(bytes) }
        return ours == foundation
    }

    /// A repeated member name, which Foundation accepts (keeping the first value) and this parser refuses (checked
    /// in `duplicateMemberNamesAreRefused`).
    static func repeatsAKey(_ bytes: [UInt8]) -> Bool {
        let names = String(decoding: bytes, as: UTF8.self).matches(of: /"([^"\\]*)"\s*:/).map { String($0.output.1) }
        return Set(names).count < names.count
    }

    /// Foundation refuses some zeros with an exponent (`0e1`, `0.000e1`, but not `0.0e1`) that RFC 8259 and Go
    /// accept.
    static func hasZeroWithExponent(_ bytes: [UInt8]) -> Bool {
        String(decoding: bytes, as: UTF8.self).contains(/(^|[^0-9.])-?0(\.0*)?[eE]/)
    }

    static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        let significant = bytes.filter { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }
        return zip(significant, significant.dropFirst()).contains { $0 == UInt8(ascii: ",") && [UInt8(ascii: "]"), UInt8(ascii: "}")].contains($1) }
    }

    @Test func agreesWithFoundationOnTheCorpus() {
        for text in Self.corpus {
            #expect(Self.agree(Array(text.utf8)), "\(text.debugDescription)")
        }
        #expect(Self.agree([0x22, 0xC3, 0x28, 0x22]), "invalid UTF-8")
        #expect(Self.agree([0x22, 0xED, 0xA0, 0x80, 0x22]), "an encoded surrogate")
    }

    /// SplitMix64: the mutations are the same on every run, so a divergence found once is found again.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// 20,000 mutations of the corpus by default; `JSON_FUZZ_SEED` and `JSON_FUZZ_ROUNDS` explore further
    /// (three seeds × 200,000 rounds agreed when this was written).
    @Test func agreesWithFoundationOnMutations() {
        var generator = SeededGenerator(state: UInt64(ProcessInfo.processInfo.environment["JSON_FUZZ_SEED"] ?? "") ?? 20_261_129)
        let alphabet = Array(#"{}[]",:\-+.0123456789eEtrufalsn u"#.utf8) + [0x00, 0x0A, 0xC3, 0xA9, 0xFF]
        let seeds = Self.corpus.prefix(22).map { Array($0.utf8) }
        for _ in 0..<(Int(ProcessInfo.processInfo.environment["JSON_FUZZ_ROUNDS"] ?? "") ?? 20_000) {
            var bytes = seeds.randomElement(using: &generator)!
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let position = Int.random(in: 0...bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes.insert(alphabet.randomElement(using: &generator)!, at: position)
                case 1 where position < bytes.count: bytes.remove(at: position)
                default: if position < bytes.count { bytes[position] = alphabet.randomElement(using: &generator)! }
                }
            }
            #expect(Self.agree(bytes), "\(String(decoding: bytes, as: UTF8.self).debugDescription) \(bytes)")
        }
    }

    @Test func duplicateMemberNamesAreRefused() throws {
        #expect(throws: LeaseholdError.self) { try JSONParser.parse(Array(#"{"a":1,"a":[true]}"#.utf8)) }
        #expect(throws: LeaseholdError.self) { try JSONParser.parse(Array(#"{"x":{"policy":"a","policy":"b"}}"#.utf8)) }
        // The same name in different objects is no repetition.
        #expect(try JSONParser.parse(Array(#"{"a":{"a":1},"b":{"a":2}}"#.utf8)) == .object(["a": .object(["a": 1]), "b": .object(["a": 2])]))
    }

    @Test func nestingBeyondTheLimitIsRefused() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: LeaseholdError.self) { _ = try JSONParser.parse(Array(deep.utf8)) }
        #expect(throws: Never.self) { _ = try JSONParser.parse(Array(deep.utf8), maximumDepth: 700) }
    }
}
