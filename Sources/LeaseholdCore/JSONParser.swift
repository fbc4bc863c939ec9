/// A strict RFC 8259 parser from UTF-8 bytes to ``JSONValue``, for request bodies on the hot path (Foundation's
/// `JSONDecoder` tries every case of `JSONValue` in turn and throws on each miss).
///
/// Accepts exactly one value surrounded by optional whitespace; refuses trailing commas and NUL bytes (which
/// Foundation tolerates and Vault's Go decoder does not), comments, leading zeros, `NaN`/`Infinity`, numbers that
/// do not fit a `Double`, raw control characters in strings, unpaired UTF-16 surrogates in `\u` escapes and
/// invalid UTF-8. Nesting is bounded by `maximumDepth` (callers also run
/// ``JSONValue`` bodies through a complexity guard first). A member name repeated in one object is refused:
/// Foundation would keep the first value and Go the last, and a body that two readers see differently (an audit
/// device and a handler, a proxy and the broker) is an attack, not a request.
public struct JSONParser {
    private let bytes: [UInt8]
    private var index = 0
    private let maximumDepth: Int

    /// Parses `bytes` as one JSON document.
    ///
    /// Throws ``LeaseholdError/Code/invalidRequest`` for anything that is not valid JSON.
    public static func parse(_ bytes: some Sequence<UInt8>, maximumDepth: Int = 512) throws -> JSONValue {
        var parser = JSONParser(bytes: Array(bytes), maximumDepth: maximumDepth)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.failure("unexpected data after the value") }
        return value
    }

    private init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    private func failure(_ reason: String) -> LeaseholdError {
        LeaseholdError.invalidRequest("invalid JSON at byte \(index): \(reason)")
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws -> JSONValue {
        for expected in literal.utf8 {
            guard current == expected else { throw failure("invalid literal") }
            index += 1
        }
        return value
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth <= maximumDepth else { throw failure("nested too deeply") }
        guard let byte = current else { throw failure("expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("expected a value")
        }
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        var members: [String: JSONValue] = [:]
        try elements(closedBy: UInt8(ascii: "}")) { parser in
            guard parser.current == UInt8(ascii: "\"") else { throw parser.failure("expected a member name") }
            let key = try parser.string()
            parser.skipWhitespace()
            guard parser.current == UInt8(ascii: ":") else { throw parser.failure("expected ':'") }
            parser.index += 1
            parser.skipWhitespace()
            guard members[key] == nil else { throw parser.failure("duplicate member name") }
            members[key] = try parser.value(depth: depth + 1)
        }
        return .object(members)
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        var elements: [JSONValue] = []
        try self.elements(closedBy: UInt8(ascii: "]")) { parser in elements.append(try parser.value(depth: depth + 1)) }
        return .array(elements)
    }

    /// Reads `element (',' element)*` up to `closing`, from just before the opening bracket; empty is allowed,
    /// a trailing comma is not.
    private mutating func elements(closedBy closing: UInt8, _ element: (inout JSONParser) throws -> Void) throws {
        index += 1
        skipWhitespace()
        if current == closing {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case closing:
                index += 1
                return
            default: throw failure("expected ',' or the end of the \(closing == UInt8(ascii: "}") ? "object" : "array")")
            }
        }
    }

    private mutating func string() throws -> String {
        index += 1
        var output: [UInt8] = []
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: output, as: UTF8.self) else { throw failure("invalid UTF-8") }
                return text
            case UInt8(ascii: "\\"): try escape(into: &output)
            case 0..<0x20: throw failure("control character in a string")
            default: output.append(byte)
            }
        }
    }

    private mutating func escape(into output: inout [UInt8]) throws {
        guard let byte = current else { throw failure("unterminated escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hexQuad()
            if (0xD800...0xDBFF).contains(scalar) {
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure("unpaired surrogate")
                }
                index += 2
                let low = try hexQuad()
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw failure("unpaired surrogate")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid escape") }
            output.append(contentsOf: String(Character(unicode)).utf8)
        default: throw failure("invalid escape")
        }
    }

    private mutating func hexQuad() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private mutating func number() throws -> Double {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw failure("invalid number")
        }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if current == UInt8(ascii: ".") {
            index += 1
            guard skipDigits() > 0 else { throw failure("invalid number") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw failure("invalid number") }
        }
        let text = bytes[start..<index]
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else {
            throw failure("number out of range")
        }
        // A non-zero number that underflowed to zero is out of range too, as Foundation decides (Go would read 0):
        // no request field takes such a number, and the differential tests hold this parser to Foundation.
        if value == 0, text.prefix(while: { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") })
            .contains(where: { (UInt8(ascii: "1")...UInt8(ascii: "9")).contains($0) })
        {
            throw failure("number out of range")
        }
        return value
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = index
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        return index - start
    }
}
