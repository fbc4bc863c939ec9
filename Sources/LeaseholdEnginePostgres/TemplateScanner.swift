/// A PostgreSQL lexer just precise enough to find statement boundaries and the lexical context of each `{{…}}`
/// placeholder: quoted identifiers, standard and `E''` string literals, dollar quoting (whose bodies are scanned
/// recursively), and line and nested block comments.
struct TemplateScanner {
    /// A placeholder found in the text.
    struct Occurrence: Sendable {
        var range: Range<Int>
        var key: StatementPlaceholder
        var context: PlaceholderContext
        /// The delimiters of the dollar quotes around the placeholder, innermost last.
        var dollarDelimiters: [String]
    }

    /// A lexical error, described without values.
    struct Failure: Error {
        var message: String
    }

    let bytes: [UInt8]
    let range: Range<Int>
    let dollarDelimiters: [String]
    /// Offsets of top-level `;` (only filled at the outermost level).
    private(set) var splitPoints: [Int] = []
    /// Placeholders in text order.
    private(set) var placeholders: [Occurrence] = []

    init(bytes: [UInt8], range: Range<Int>, dollarDelimiters: [String]) {
        self.bytes = bytes
        self.range = range
        self.dollarDelimiters = dollarDelimiters
    }

    mutating func scan() throws(Failure) {
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = bytes[index]
            if let (key, end) = placeholder(at: index) {
                record(key, index..<end, .bare)
                index = end
            } else if byte == UInt8(ascii: "'") {
                let escapes = index > range.lowerBound && (bytes[index - 1] | 0x20) == UInt8(ascii: "e")
                    && (index - 1 == range.lowerBound || !Self.isIdentifierByte(bytes[index - 2]))
                index = try quoted(from: index, quote: byte, backslashEscapes: escapes, context: .stringLiteral)
            } else if byte == UInt8(ascii: "\"") {
                index = try quoted(from: index, quote: byte, backslashEscapes: false, context: .quotedIdentifier)
            } else if byte == UInt8(ascii: "-"), next(index) == UInt8(ascii: "-") {
                let end = bytes[index..<range.upperBound].firstIndex(of: UInt8(ascii: "\n")) ?? range.upperBound
                markComment(index..<end)
                index = end
            } else if byte == UInt8(ascii: "/"), next(index) == UInt8(ascii: "*") {
                index = try blockComment(from: index)
            } else if byte == UInt8(ascii: "$"), index == range.lowerBound || !Self.isIdentifierByte(bytes[index - 1]),
                let delimiter = dollarDelimiter(at: index)
            {
                index = try dollarQuoted(from: index, delimiter: delimiter)
            } else {
                if byte == UInt8(ascii: ";"), dollarDelimiters.isEmpty { splitPoints.append(index) }
                index += 1
            }
        }
    }

    private func next(_ index: Int) -> UInt8? { index + 1 < range.upperBound ? bytes[index + 1] : nil }

    private mutating func record(_ key: StatementPlaceholder, _ range: Range<Int>, _ context: PlaceholderContext) {
        placeholders.append(Occurrence(range: range, key: key, context: context, dollarDelimiters: dollarDelimiters))
    }

    private func placeholder(at index: Int) -> (StatementPlaceholder, Int)? {
        guard bytes[index] == UInt8(ascii: "{"), next(index) == UInt8(ascii: "{") else { return nil }
        for key in StatementPlaceholder.allCases {
            let token = Array(key.token.utf8)
            if index + token.count <= range.upperBound, bytes[index..<(index + token.count)].elementsEqual(token) {
                return (key, index + token.count)
            }
        }
        return nil
    }

    private mutating func quoted(
        from start: Int, quote: UInt8, backslashEscapes: Bool, context: PlaceholderContext
    ) throws(Failure) -> Int {
        var index = start + 1
        while index < range.upperBound {
            if let (key, end) = placeholder(at: index) {
                record(key, index..<end, context)
                index = end
            } else if backslashEscapes, bytes[index] == UInt8(ascii: "\\") {
                index += 2
            } else if bytes[index] == quote {
                if next(index) == quote { index += 2 } else { return index + 1 }
            } else {
                index += 1
            }
        }
        throw Failure(message: context == .stringLiteral ? "unterminated string literal" : "unterminated quoted identifier")
    }

    private mutating func markComment(_ comment: Range<Int>) {
        var index = comment.lowerBound
        while index < comment.upperBound {
            if let (key, end) = placeholder(at: index) {
                record(key, index..<end, .comment)
                index = end
            } else {
                index += 1
            }
        }
    }

    private mutating func blockComment(from start: Int) throws(Failure) -> Int {
        var depth = 0
        var index = start
        while index < range.upperBound {
            if bytes[index] == UInt8(ascii: "/"), next(index) == UInt8(ascii: "*") {
                depth += 1
                index += 2
            } else if bytes[index] == UInt8(ascii: "*"), next(index) == UInt8(ascii: "/") {
                depth -= 1
                index += 2
                if depth == 0 {
                    markComment(start..<index)
                    return index
                }
            } else {
                index += 1
            }
        }
        throw Failure(message: "unterminated comment")
    }

    /// The `$tag$` delimiter starting at `index`, if the text there is one (and not a `$1` parameter).
    private func dollarDelimiter(at index: Int) -> String? {
        var end = index + 1
        while end < range.upperBound, bytes[end] != UInt8(ascii: "$") {
            let byte = bytes[end]
            let isStart = end == index + 1
            guard Self.isIdentifierByte(byte), byte != UInt8(ascii: "$"), !(isStart && (0x30...0x39).contains(byte)) else { return nil }
            end += 1
        }
        guard end < range.upperBound else { return nil }
        return String(decoding: bytes[index...end], as: UTF8.self)
    }

    private mutating func dollarQuoted(from start: Int, delimiter: String) throws(Failure) -> Int {
        let tag = Array(delimiter.utf8)
        let bodyStart = start + tag.count
        var index = bodyStart
        while index + tag.count <= range.upperBound {
            if bytes[index..<(index + tag.count)].elementsEqual(tag) {
                var body = TemplateScanner(bytes: bytes, range: bodyStart..<index, dollarDelimiters: dollarDelimiters + [delimiter])
                try body.scan()
                placeholders += body.placeholders
                return index + tag.count
            }
            index += 1
        }
        throw Failure(message: "unterminated dollar-quoted string")
    }

    /// Whether `byte` can continue an identifier (letters, digits, `_`, `$`, and any non-ASCII byte).
    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (0x61...0x7A).contains(byte | 0x20) || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "$") || byte >= 0x80
    }

    /// Whether `byte` is SQL whitespace.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}
