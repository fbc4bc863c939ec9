/// A 1-based line and column in a document.
struct SourcePosition: Sendable, Hashable {
    var line: Int
    var column: Int
}
