import LeaseholdCore

/// A statement list in Vault's template form, split into single statements whose placeholders are checked to sit
/// where a value cannot change the statement's structure.
///
/// Each entry may hold several statements separated by `;`; splitting respects quotes, `E'…'` escapes, dollar
/// quoting and comments (no heuristics). Rules, checked without any value:
/// - `{{name}}`, `{{username}}` and `{{database}}` must be inside `"…"` or `'…'`;
/// - `{{password}}` and `{{expiration}}` must be inside `'…'`;
/// - placeholders in comments or bare in the statement text are refused;
/// - transaction control (`BEGIN`, `START`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `SAVEPOINT`, `RELEASE`, `PREPARE
///   TRANSACTION`) is refused: the broker runs every template in its own transaction, and a `COMMIT` inside one would
///   make a user permanent before its bookkeeping and its commit gate (or make a dry run's user real);
/// - `SET` without `LOCAL` is refused: it outlives the transaction on the broker's pooled connection, so a
///   `SET ROLE` would make later creations, revocations and root rotations run as another role. `SET LOCAL` ends
///   with the transaction.
/// Inside a dollar-quoted body (`DO $$ … $$`) the body is checked with the same rules.
///
/// Rendering substitutes each placeholder once (values are never rescanned) and refuses any value that could end
/// its quoting: quotes, backslashes, control or non-ASCII characters, or an enclosing dollar-quote delimiter.
public struct StatementTemplate: Sendable {
    /// One statement, as a sequence of template text and placeholders.
    struct Statement: Sendable {
        enum Segment: Sendable {
            case text(String)
            case placeholder(StatementPlaceholder, dollarDelimiters: [String])
        }
        var segments: [Segment]
        var placeholders: Set<StatementPlaceholder> {
            Set(segments.compactMap { if case .placeholder(let key, _) = $0 { key } else { nil } })
        }

        /// The statement's first keyword, uppercased, after white space and comments (`nil` when it starts with a
        /// placeholder or holds nothing else).
        var leadingKeyword: String? { leadingKeywords.first }

        /// The statement's first two keywords, uppercased, after white space and comments.
        var leadingKeywords: [String] {
            guard case .text(let first)? = segments.first else { return [] }
            var rest = Substring(first)
            while true {
                rest = rest.drop { $0.isWhitespace }
                if rest.hasPrefix("--") {
                    rest = rest.drop { $0 != "\n" }
                } else if rest.hasPrefix("/*"), let end = rest.range(of: "*/") {
                    rest = rest[end.upperBound...]
                } else {
                    break
                }
            }
            return rest.split(maxSplits: 2, omittingEmptySubsequences: true, whereSeparator: { !($0.isLetter || $0 == "_") })
                .prefix(2).map { $0.uppercased() }
        }
    }

    /// The statements, in execution order.
    let statements: [Statement]

    /// The number of single statements after splitting.
    public var count: Int { statements.count }

    /// Splits and checks `entries`. Throws ``LeaseholdCore/LeaseholdError/Code/invalidRequest`` naming the
    /// 1-based statement and the offending placeholder; the message holds template text only, never values.
    public init(_ entries: [String]) throws {
        var statements: [Statement] = []
        for entry in entries {
            let bytes = Array(entry.utf8)
            var scanner = TemplateScanner(bytes: bytes, range: bytes.startIndex..<bytes.endIndex, dollarDelimiters: [])
            do {
                try scanner.scan()
            } catch {
                throw LeaseholdError.invalidRequest("statement \(statements.count + 1): \(error.message)")
            }
            var start = bytes.startIndex
            for end in scanner.splitPoints + [bytes.endIndex] {
                let pieces = scanner.placeholders.filter { $0.range.lowerBound >= start && $0.range.upperBound <= end }
                if let statement = try Self.statement(bytes: bytes, range: start..<end, placeholders: pieces, index: statements.count + 1) {
                    statements.append(statement)
                }
                start = end + 1
            }
        }
        self.statements = statements
    }

    private static func statement(
        bytes: [UInt8],
        range: Range<Int>,
        placeholders: [TemplateScanner.Occurrence],
        index: Int
    ) throws -> Statement? {
        guard bytes[range].contains(where: { !TemplateScanner.isWhitespace($0) }) else { return nil }
        var segments: [Statement.Segment] = []
        var cursor = range.lowerBound
        for occurrence in placeholders {
            guard occurrence.key.isAllowed(in: occurrence.context) else {
                throw LeaseholdError.invalidRequest(
                    "statement \(index): \(occurrence.key.token) is \(occurrence.context.phrase); "
                        + (occurrence.key == .password || occurrence.key == .expiration
                            ? "write '\(occurrence.key.token)'" : "write \"\(occurrence.key.token)\"")
                )
            }
            segments.append(.text(String(decoding: bytes[cursor..<occurrence.range.lowerBound], as: UTF8.self)))
            segments.append(.placeholder(occurrence.key, dollarDelimiters: occurrence.dollarDelimiters))
            cursor = occurrence.range.upperBound
        }
        segments.append(.text(String(decoding: bytes[cursor..<range.upperBound], as: UTF8.self)))
        let statement = Statement(segments: segments)
        if let keyword = statement.leadingKeyword, transactionControl.contains(keyword) {
            throw LeaseholdError.invalidRequest("statement \(index): \(keyword) is not allowed: the broker runs each template in its own transaction")
        }
        if statement.leadingKeyword == "SET", statement.leadingKeywords.dropFirst().first != "LOCAL" {
            throw LeaseholdError.invalidRequest(
                "statement \(index): write SET LOCAL: a plain SET outlives the transaction on the broker's pooled connection")
        }
        return statement
    }

    /// Statement keywords that control the transaction.
    private static let transactionControl: Set<String> = [
        "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE",
    ]

    /// The 0-based index of the first statement that changes privileges on database objects (`GRANT … ON`,
    /// `REVOKE … ON`, `ALTER DEFAULT PRIVILEGES`, `REASSIGN`/`DROP OWNED`): concurrent ones rewrite the same catalog
    /// rows and fail with `tuple concurrently updated`, so they run under the target's lock. Judged on the template
    /// text only, never on substituted values. `nil` when no statement does.
    var firstObjectPrivilegeStatement: Int? {
        statements.firstIndex { statement in
            let text = statement.segments.map { if case .text(let part) = $0 { part } else { " " } }.joined()
            let words = text.uppercased().split(whereSeparator: { $0.isWhitespace || $0 == ";" || $0 == "(" || $0 == ")" })
            let (grantsOrRevokes, hasOn) = (words.first == "GRANT" || words.first == "REVOKE", words.contains("ON"))
            return (grantsOrRevokes && hasOn) || words.starts(with: ["ALTER", "DEFAULT", "PRIVILEGES"])
                || words.starts(with: ["REASSIGN", "OWNED"]) || words.starts(with: ["DROP", "OWNED"])
        }
    }

    /// Whether any statement uses `placeholder`.
    public func uses(_ placeholder: StatementPlaceholder) -> Bool {
        statements.contains { $0.placeholders.contains(placeholder) }
    }

    /// Renders every statement with `values`. A placeholder without a value is refused, as is a value that could
    /// end its quoting (see the type's documentation). Error messages name the placeholder, never the value.
    func render(_ values: [StatementPlaceholder: SecretValue]) throws -> [String] {
        try statements.enumerated().map { index, statement in
            var text = ""
            for segment in statement.segments {
                switch segment {
                case .text(let part):
                    text += part
                case .placeholder(let key, let delimiters):
                    guard let value = values[key]?.revealed else {
                        throw LeaseholdError.invalidRequest("statement \(index + 1): \(key.token) is not available here")
                    }
                    guard Self.isInert(value), !delimiters.contains(where: { value.contains($0) }) else {
                        throw LeaseholdError.invalidRequest("statement \(index + 1): the value of \(key.token) contains characters that are not allowed in SQL text")
                    }
                    text += value
                }
            }
            return text
        }
    }

    /// Whether `value` is printable ASCII without quotes or backslashes, so it cannot end a quoted identifier or
    /// a standard or `E''` string literal.
    static func isInert(_ value: String) -> Bool {
        !value.isEmpty
            && value.utf8.allSatisfy { (0x20...0x7E).contains($0) && $0 != UInt8(ascii: "'") && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }
}
