/// A syntax or shape error in an HCL or JSON document.
///
/// Messages never quote more than a short, sanitized excerpt of the input, so they are safe to return to callers.
public struct HCLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line of the error, when it has a position in the source.
    public var line: Int?
    /// The 1-based column (in Unicode scalars) of the error, when it has a position in the source.
    public var column: Int?
    /// What is wrong.
    public var message: String

    /// Creates an error, optionally located at `line`:`column`.
    public init(_ message: String, line: Int? = nil, column: Int? = nil) {
        self.message = message
        self.line = line
        self.column = column
    }

    /// `line:column: message`, or the bare message when the error has no position.
    public var description: String {
        guard let line, let column else { return message }
        return "\(line):\(column): \(message)"
    }

    /// Renders at most `limit` characters of untrusted input, replacing non-printable characters with `?`, quoted.
    public static func excerpt(_ text: some StringProtocol, limit: Int = 32) -> String {
        let printable = text.unicodeScalars.prefix(limit).map { scalar -> Character in
            scalar.properties.generalCategory == .control || scalar == "\"" ? "?" : Character(scalar)
        }
        let ellipsis = text.unicodeScalars.count > limit ? "…" : ""
        return "\"\(String(printable))\(ellipsis)\""
    }
}
