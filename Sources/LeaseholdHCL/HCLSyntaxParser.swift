/// A recursive-descent parser for the HCL1 subset used by Vault policies and server configuration.
///
/// Grammar: a body is a sequence of items, optionally separated by `,` or `;`. An item is `key = value` or
/// `key label… { body }`, where keys and labels are identifiers or quoted strings. Values are strings, heredocs
/// (`<<EOF`, `<<-EOF`), numbers, `true`/`false`, lists (trailing comma allowed) and `{ body }` objects.
/// Comments are `#`, `//` and `/* … */`.
struct HCLSyntaxParser {
    private var scanner: SourceScanner

    init(scanner: SourceScanner) throws {
        self.scanner = scanner
    }

    mutating func parseDocument() throws -> HCLObject {
        try parseBody(closedBy: nil)
    }

    // MARK: Structure

    /// Parses items until `closer` (consumed) or, when `closer` is nil, the end of input.
    private mutating func parseBody(closedBy closer: UInt8?) throws -> HCLObject {
        var builder = ObjectBuilder(rejectsDuplicates: scanner.options.rejectsDuplicateAttributes)
        while true {
            try skipTrivia()
            if let closer, scanner.consume(closer) { return builder.object }
            if scanner.isAtEnd {
                if closer == nil { return builder.object }
                throw scanner.error("unclosed block: expected '}'")
            }
            let keyPosition = scanner.position
            let key = try parseKey(role: "key")
            try skipTrivia()
            if scanner.consume(UInt8(ascii: "=")) {
                try skipTrivia()
                try builder.addAttribute(key, try parseValue(), at: keyPosition)
            } else {
                try builder.addBlock(key, try parseBlock(), at: keyPosition)
            }
            try skipTrivia()
            _ = scanner.consume(UInt8(ascii: ",")) || scanner.consume(UInt8(ascii: ";"))
        }
    }

    /// Parses `label… { body }` after a block's key; labels nest the body one object per label, so each counts
    /// toward the nesting limit (a block with half a million labels would be a value that deep).
    private mutating func parseBlock() throws -> HCLValue {
        var labels: [String] = []
        defer { for _ in labels { scanner.leaveNesting() } }
        while scanner.current != UInt8(ascii: "{") {
            guard !scanner.isAtEnd else { throw scanner.error("expected '=' or '{' after key, found end of input") }
            let label = try parseKey(role: "'=' or '{' after key")
            try scanner.enterNesting()
            labels.append(label)
            try skipTrivia()
        }
        var value = try parseObjectLiteral()
        for label in labels.reversed() {
            value = .object(HCLObject([HCLObject.Entry(key: label, value: value)]))
        }
        return value
    }

    private mutating func parseObjectLiteral() throws -> HCLValue {
        try scanner.expect(UInt8(ascii: "{"), "'{'")
        try scanner.enterNesting()
        let body = try parseBody(closedBy: UInt8(ascii: "}"))
        scanner.leaveNesting()
        return .object(body)
    }

    /// Parses an identifier or a quoted string; `role` names what was expected in the error message.
    private mutating func parseKey(role: String) throws -> String {
        guard let byte = scanner.current else { throw scanner.error("expected \(role), found end of input") }
        if byte == UInt8(ascii: "\"") { return try parseQuotedString() }
        guard Self.isIdentifierStart(byte) else {
            throw scanner.error("expected \(role), found \(scanner.describeCurrent())")
        }
        let start = scanner.offset
        while let next = scanner.current, Self.isIdentifierStart(next) || Self.isIdentifierContinuation(next) {
            scanner.advance()
        }
        return scanner.text(from: start)
    }

    // MARK: Values

    private mutating func parseValue() throws -> HCLValue {
        guard let byte = scanner.current else { throw scanner.error("expected a value, found end of input") }
        switch byte {
        case UInt8(ascii: "\""):
            return .string(try parseQuotedString())
        case UInt8(ascii: "<"):
            return .string(try parseHeredoc())
        case UInt8(ascii: "["):
            return try parseList()
        case UInt8(ascii: "{"):
            return try parseObjectLiteral()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try scanner.readNumber())
        default:
            let position = scanner.position
            if Self.isIdentifierStart(byte) {
                switch try parseKey(role: "a value") {
                case "true": return .bool(true)
                case "false": return .bool(false)
                default:
                    throw scanner.error("expected a value, found a bare word (strings must be quoted)", at: position)
                }
            }
            throw scanner.error("expected a value, found \(scanner.describeCurrent())")
        }
    }

    private mutating func parseList() throws -> HCLValue {
        try scanner.expect(UInt8(ascii: "["), "'['")
        try scanner.enterNesting()
        var elements: [HCLValue] = []
        while true {
            try skipTrivia()
            if scanner.consume(UInt8(ascii: "]")) { break }
            elements.append(try parseValue())
            try skipTrivia()
            if scanner.consume(UInt8(ascii: "]")) { break }
            try scanner.expect(UInt8(ascii: ","), "',' or ']' in list")
        }
        scanner.leaveNesting()
        return .list(elements)
    }

    private mutating func parseQuotedString() throws -> String {
        let opening = scanner.position
        try scanner.expect(UInt8(ascii: "\""), "'\"'")
        var bytes: [UInt8] = []
        while true {
            guard let byte = scanner.current, byte != UInt8(ascii: "\n") else {
                throw scanner.error("unterminated string", at: opening)
            }
            scanner.advance()
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try appendEscape(to: &bytes)
            default:
                bytes.append(byte)
            }
        }
    }

    /// Decodes one escape sequence (after the backslash): `\n \r \t \" \\ \uXXXX \UXXXXXXXX`.
    private mutating func appendEscape(to bytes: inout [UInt8]) throws {
        guard let byte = scanner.current else { throw scanner.error("unterminated string") }
        let position = scanner.position
        scanner.advance()
        let scalarValue: UInt32
        switch byte {
        case UInt8(ascii: "n"): scalarValue = 0x0A
        case UInt8(ascii: "r"): scalarValue = 0x0D
        case UInt8(ascii: "t"): scalarValue = 0x09
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): scalarValue = UInt32(byte)
        case UInt8(ascii: "u"): scalarValue = try scanner.readHexadecimal(digits: 4)
        case UInt8(ascii: "U"): scalarValue = try scanner.readHexadecimal(digits: 8)
        default: throw scanner.error("invalid escape sequence", at: position)
        }
        guard let scalar = Unicode.Scalar(scalarValue) else {
            throw scanner.error("invalid escape: not a Unicode scalar", at: position)
        }
        bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    /// Parses `<<MARKER` or `<<-MARKER` up to the line holding only the marker. The value keeps the final newline.
    /// In the indented form the closing marker may be indented and the common leading whitespace of the content lines
    /// is removed.
    private mutating func parseHeredoc() throws -> String {
        let opening = scanner.position
        guard scanner.consume(UInt8(ascii: "<")), scanner.consume(UInt8(ascii: "<")) else {
            throw scanner.error("expected a value, found '<'", at: opening)
        }
        let isIndented = scanner.consume(UInt8(ascii: "-"))
        guard let first = scanner.current, Self.isIdentifierStart(first) else {
            throw scanner.error("expected a heredoc marker after '<<'")
        }
        let marker = try parseKey(role: "a heredoc marker")
        _ = scanner.consume(UInt8(ascii: "\r"))
        try scanner.expect(UInt8(ascii: "\n"), "a newline after the heredoc marker")
        var lines: [Substring] = []
        while true {
            guard !scanner.isAtEnd else {
                throw scanner.error("unterminated heredoc: missing \(HCLError.excerpt(marker))", at: opening)
            }
            let start = scanner.offset
            while let byte = scanner.current, byte != UInt8(ascii: "\n") { scanner.advance() }
            var line = Substring(scanner.text(from: start))
            if line.last == "\r" { line = line.dropLast() }
            let candidate = isIndented ? line.drop { $0 == " " || $0 == "\t" } : line
            if candidate == marker { break }
            _ = scanner.consume(UInt8(ascii: "\n"))
            lines.append(line)
        }
        if isIndented { lines = Self.removingCommonIndentation(lines) }
        return lines.map { $0 + "\n" }.joined()
    }

    private static func removingCommonIndentation(_ lines: [Substring]) -> [Substring] {
        let indentations = lines.filter { $0.contains { $0 != " " && $0 != "\t" } }
            .map { $0.prefix { $0 == " " || $0 == "\t" }.count }
        let common = indentations.min() ?? 0
        return lines.map { $0.dropFirst(min(common, $0.prefix { $0 == " " || $0 == "\t" }.count)) }
    }

    // MARK: Trivia

    /// Skips whitespace, newlines and comments.
    private mutating func skipTrivia() throws {
        while let byte = scanner.current {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                scanner.advance()
            case UInt8(ascii: "#"):
                skipLine()
            case UInt8(ascii: "/") where scanner.peek() == UInt8(ascii: "/"):
                skipLine()
            case UInt8(ascii: "/") where scanner.peek() == UInt8(ascii: "*"):
                let opening = scanner.position
                scanner.advance()
                scanner.advance()
                while !(scanner.current == UInt8(ascii: "*") && scanner.peek() == UInt8(ascii: "/")) {
                    guard !scanner.isAtEnd else { throw scanner.error("unterminated comment", at: opening) }
                    scanner.advance()
                }
                scanner.advance()
                scanner.advance()
            default:
                return
            }
        }
    }

    private mutating func skipLine() {
        while let byte = scanner.current, byte != UInt8(ascii: "\n") { scanner.advance() }
    }

    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_")
    }

    private static func isIdentifierContinuation(_ byte: UInt8) -> Bool {
        SourceScanner.isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
}
