/// A strict RFC 8259 JSON parser producing the ``HCLValue`` tree, with positions in its errors and duplicate-key
/// detection (which Foundation's `JSONSerialization` lacks: it silently keeps the last duplicate).
struct JSONSyntaxParser {
    private var scanner: SourceScanner

    init(scanner: SourceScanner) throws {
        self.scanner = scanner
    }

    mutating func parseDocument() throws -> HCLObject {
        skipWhitespace()
        guard scanner.current == UInt8(ascii: "{") else {
            throw scanner.error("expected a JSON object, found \(scanner.describeCurrent())")
        }
        let object = try parseObject()
        skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.error("unexpected \(scanner.describeCurrent()) after the document") }
        return object
    }

    private mutating func parseValue() throws -> HCLValue {
        guard let byte = scanner.current else { throw scanner.error("expected a value, found end of input") }
        switch byte {
        case UInt8(ascii: "{"): return .object(try parseObject())
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): throw scanner.error("null is not supported")
        default: throw scanner.error("expected a value, found \(scanner.describeCurrent())")
        }
    }

    private mutating func parseObject() throws -> HCLObject {
        try scanner.expect(UInt8(ascii: "{"), "'{'")
        try scanner.enterNesting()
        var builder = ObjectBuilder(rejectsDuplicates: scanner.options.rejectsDuplicateAttributes)
        skipWhitespace()
        if !scanner.consume(UInt8(ascii: "}")) {
            repeat {
                skipWhitespace()
                let keyPosition = scanner.position
                guard scanner.current == UInt8(ascii: "\"") else {
                    throw scanner.error("expected a string key, found \(scanner.describeCurrent())")
                }
                let key = try parseString()
                skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                skipWhitespace()
                try builder.addAttribute(key, try parseValue(), at: keyPosition)
                skipWhitespace()
            } while scanner.consume(UInt8(ascii: ","))
            try scanner.expect(UInt8(ascii: "}"), "',' or '}' in object")
        }
        scanner.leaveNesting()
        return builder.object
    }

    private mutating func parseArray() throws -> HCLValue {
        try scanner.expect(UInt8(ascii: "["), "'['")
        try scanner.enterNesting()
        var elements: [HCLValue] = []
        skipWhitespace()
        if !scanner.consume(UInt8(ascii: "]")) {
            repeat {
                skipWhitespace()
                elements.append(try parseValue())
                skipWhitespace()
            } while scanner.consume(UInt8(ascii: ","))
            try scanner.expect(UInt8(ascii: "]"), "',' or ']' in array")
        }
        scanner.leaveNesting()
        return .list(elements)
    }

    private mutating func parseLiteral(_ word: String, _ value: HCLValue) throws -> HCLValue {
        let position = scanner.position
        for expected in word.utf8 {
            guard scanner.consume(expected) else { throw scanner.error("invalid literal", at: position) }
        }
        return value
    }

    /// Parses a number with JSON's grammar: no leading zeros, no `+`, no bare `.`.
    private mutating func parseNumber() throws -> Double {
        let position = scanner.position
        let zeroOffset = scanner.current == UInt8(ascii: "-") ? 1 : 0
        if scanner.peek(zeroOffset) == UInt8(ascii: "0"), let next = scanner.peek(zeroOffset + 1),
            SourceScanner.isDigit(next)
        {
            throw scanner.error("invalid number: leading zero", at: position)
        }
        let value = try scanner.readNumber()
        if scanner.current == UInt8(ascii: ".") { throw scanner.error("invalid number", at: position) }
        return value
    }

    private mutating func parseString() throws -> String {
        let opening = scanner.position
        try scanner.expect(UInt8(ascii: "\""), "'\"'")
        var bytes: [UInt8] = []
        while true {
            guard let byte = scanner.current else { throw scanner.error("unterminated string", at: opening) }
            guard byte >= 0x20 else { throw scanner.error("control character in string") }
            scanner.advance()
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"): try appendEscape(to: &bytes)
            default: bytes.append(byte)
            }
        }
    }

    /// Decodes one escape (after the backslash), combining UTF-16 surrogate pairs and rejecting lone surrogates.
    private mutating func appendEscape(to bytes: inout [UInt8]) throws {
        let position = scanner.position
        guard let byte = scanner.current else { throw scanner.error("unterminated string") }
        scanner.advance()
        let simple: UInt8? =
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
        if let simple {
            bytes.append(simple)
            return
        }
        guard byte == UInt8(ascii: "u") else { throw scanner.error("invalid escape sequence", at: position) }
        var value = try scanner.readHexadecimal(digits: 4)
        if (0xD800...0xDBFF).contains(value) {
            guard scanner.consume(UInt8(ascii: "\\")), scanner.consume(UInt8(ascii: "u")) else {
                throw scanner.error("invalid escape: unpaired surrogate", at: position)
            }
            let low = try scanner.readHexadecimal(digits: 4)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw scanner.error("invalid escape: unpaired surrogate", at: position)
            }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw scanner.error("invalid escape: unpaired surrogate", at: position)
        }
        bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    private mutating func skipWhitespace() {
        while let byte = scanner.current,
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r")
        {
            scanner.advance()
        }
    }
}
