/// Accumulates an object's entries and enforces the duplicate-attribute rule.
struct ObjectBuilder {
    private var entries: [HCLObject.Entry] = []
    private var attributeKeys = Set<String>()
    private var blockKeys = Set<String>()
    private let rejectsDuplicates: Bool

    init(rejectsDuplicates: Bool) {
        self.rejectsDuplicates = rejectsDuplicates
    }

    /// Adds a plain attribute. With duplicates rejected, its key may not already be used by any entry.
    mutating func addAttribute(_ key: String, _ value: HCLValue, at position: SourcePosition) throws {
        if rejectsDuplicates, attributeKeys.contains(key) || blockKeys.contains(key) {
            throw Self.duplicate(key, at: position)
        }
        attributeKeys.insert(key)
        entries.append(HCLObject.Entry(key: key, value: value))
    }

    /// Adds a block, which may repeat other blocks of the same key but not share an attribute's key.
    mutating func addBlock(_ key: String, _ value: HCLValue, at position: SourcePosition) throws {
        if rejectsDuplicates, attributeKeys.contains(key) {
            throw Self.duplicate(key, at: position)
        }
        blockKeys.insert(key)
        entries.append(HCLObject.Entry(key: key, value: value))
    }

    var object: HCLObject { HCLObject(entries) }

    private static func duplicate(_ key: String, at position: SourcePosition) -> HCLError {
        HCLError("duplicate key \(HCLError.excerpt(key))", line: position.line, column: position.column)
    }
}
