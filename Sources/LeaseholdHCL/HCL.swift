/// Entry points for parsing HCL1-style documents (Vault policies, Vault server configuration) and their JSON form.
public enum HCL {
    /// Limits and checks applied while parsing.
    public struct ParseOptions: Sendable, Hashable {
        /// The largest accepted document, in UTF-8 bytes. The default is 1 MiB.
        public var maximumSize: Int
        /// The deepest accepted nesting of objects and lists. The default is 64.
        public var maximumDepth: Int
        /// Whether a plain attribute (`key = value`, or any JSON member) may not share its key with another entry of
        /// the same object. Repeated HCL blocks (`listener "tcp" {…}` twice) are always allowed.
        public var rejectsDuplicateAttributes: Bool

        /// Creates options; the defaults are 1 MiB, depth 64, and duplicates rejected.
        public init(maximumSize: Int = 1 << 20, maximumDepth: Int = 64, rejectsDuplicateAttributes: Bool = true) {
            self.maximumSize = maximumSize
            self.maximumDepth = maximumDepth
            self.rejectsDuplicateAttributes = rejectsDuplicateAttributes
        }
    }

    /// Parses an HCL document (a sequence of attributes and blocks) into its top-level object.
    ///
    /// Throws ``HCLError`` with the line and column of the first problem.
    public static func parse(_ text: String, options: ParseOptions = ParseOptions()) throws -> HCLObject {
        var parser = try HCLSyntaxParser(scanner: SourceScanner(text: text, options: options))
        return try parser.parseDocument()
    }

    /// Parses the JSON form of a document, which must be a JSON object, into the same tree the HCL form gives.
    ///
    /// `null` is rejected because HCL has no equivalent. Throws ``HCLError`` with the line and column of the first
    /// problem.
    public static func parse(json text: String, options: ParseOptions = ParseOptions()) throws -> HCLObject {
        var parser = try JSONSyntaxParser(scanner: SourceScanner(text: text, options: options))
        return try parser.parseDocument()
    }

    /// Whether `text` is in the JSON form: its first non-whitespace character is `{`.
    public static func looksLikeJSON(_ text: String) -> Bool {
        text.first { !$0.isWhitespace } == "{"
    }
}
