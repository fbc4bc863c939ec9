/// A cursor over a document's UTF-8 bytes that tracks line and column and enforces the parse limits.
///
/// Shared by the HCL and JSON parsers, which differ only in grammar.
struct SourceScanner {
    private let bytes: [UInt8]
    private(set) var offset = 0
    private(set) var line = 1
    private(set) var column = 1
    private var depth = 0
    let options: HCL.ParseOptions

    init(text: String, options: HCL.ParseOptions) throws {
        guard text.utf8.count <= options.maximumSize else {
            throw HCLError("document exceeds \(options.maximumSize) bytes")
        }
        self.bytes = Array(text.utf8)
        self.options = options
    }

    /// The current byte, or `nil` at the end.
    var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    /// The byte `distance` positions ahead, or `nil` past the end.
    func peek(_ distance: Int = 1) -> UInt8? {
        offset + distance < bytes.count ? bytes[offset + distance] : nil
    }

    var isAtEnd: Bool { offset >= bytes.count }

    /// Moves past the current byte, updating line and column (columns count Unicode scalars).
    mutating func advance() {
        guard let byte = current else { return }
        offset += 1
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }

    /// Advances past `byte` if it is current; reports whether it did.
    mutating func consume(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        advance()
        return true
    }

    /// Advances past `byte` or throws "expected `what`".
    mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard consume(byte) else { throw error("expected \(what), found \(describeCurrent())") }
    }

    /// The bytes from `start` to the current offset, as a string.
    func text(from start: Int) -> String {
        String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    /// The current line and column.
    var position: SourcePosition { SourcePosition(line: line, column: column) }

    /// An error at the current position.
    func error(_ message: String) -> HCLError {
        error(message, at: position)
    }

    /// An error at an earlier position.
    func error(_ message: String, at position: SourcePosition) -> HCLError {
        HCLError(message, line: position.line, column: position.column)
    }

    /// A sanitized description of the current character, for error messages.
    func describeCurrent() -> String {
        guard let byte = current else { return "end of input" }
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        if byte == UInt8(ascii: "\n") { return "newline" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x" + (hex.count == 1 ? "0" + hex : hex)
    }

    /// Enters a nested object or list, enforcing the depth limit.
    mutating func enterNesting() throws {
        depth += 1
        guard depth <= options.maximumDepth else {
            throw error("nesting exceeds the maximum depth of \(options.maximumDepth)")
        }
    }

    /// Leaves a nested object or list.
    mutating func leaveNesting() {
        depth -= 1
    }

    /// Reads `digits` hexadecimal digits as a number; used by the escape sequences of both string grammars.
    mutating func readHexadecimal(digits: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let byte = current, let digit = Self.hexadecimalValue(byte) else {
                throw error("invalid escape: expected \(digits) hexadecimal digits")
            }
            value = value << 4 | UInt32(digit)
            advance()
        }
        return value
    }

    static func hexadecimalValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Reads a number in JSON syntax (`-`, digits, fraction, exponent), which HCL numbers also follow.
    mutating func readNumber() throws -> Double {
        let start = offset
        let startPosition = position
        _ = consume(UInt8(ascii: "-"))
        var digits = 0
        while let byte = current, Self.isDigit(byte) {
            advance()
            digits += 1
        }
        if current == UInt8(ascii: "."), let next = peek(), Self.isDigit(next) {
            advance()
            while let byte = current, Self.isDigit(byte) { advance() }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            advance()
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { advance() }
            guard let byte = current, Self.isDigit(byte) else { throw error("invalid number exponent") }
            while let byte = current, Self.isDigit(byte) { advance() }
        }
        guard digits > 0, let value = Double(text(from: start)), value.isFinite else {
            throw error("invalid number", at: startPosition)
        }
        return value
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
