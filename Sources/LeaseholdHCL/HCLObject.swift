/// An ordered collection of key/value entries: a document, a block body, or an object literal.
///
/// Keys may repeat: HCL allows the same block several times (`path "a" {…}` then `path "b" {…}`), and each
/// occurrence is kept as its own entry in source order. Use ``HCL/ParseOptions/rejectsDuplicateAttributes`` to have
/// the parser refuse repeated plain attributes, and ``blocks(named:labelCount:)`` to read blocks uniformly from
/// the HCL and JSON forms.
public struct HCLObject: Sendable, Hashable {
    /// One key and its value.
    public struct Entry: Sendable, Hashable {
        /// The key (an identifier or a quoted string in HCL, an object member name in JSON).
        public var key: String
        /// The value.
        public var value: HCLValue

        /// Creates an entry.
        public init(key: String, value: HCLValue) {
            self.key = key
            self.value = value
        }
    }

    /// The entries in source order, repeated keys included.
    public var entries: [Entry]

    /// Creates an object from entries in order.
    public init(_ entries: [Entry] = []) {
        self.entries = entries
    }

    /// The distinct keys in order of first appearance.
    public var keys: [String] {
        var seen = Set<String>()
        return entries.compactMap { seen.insert($0.key).inserted ? $0.key : nil }
    }

    /// The value of the first entry with `key`, or `nil`.
    public subscript(key: String) -> HCLValue? {
        entries.first { $0.key == key }?.value
    }

    /// The values of every entry with `key`, in order.
    public func values(for key: String) -> [HCLValue] {
        entries.compactMap { $0.key == key ? $0.value : nil }
    }

    /// The blocks stored under `key`, each with exactly `labelCount` labels, in source order.
    ///
    /// Accepts every shape the HCL and JSON syntaxes give a block: `key "a" { … }` (an object nested once per label),
    /// repeated `key "a" {…}` entries, and JSON lists of such objects at any level
    /// (`"listener": [{"tcp": {…}}, {"tcp": {…}}]`). Throws ``HCLError`` when a value has another shape.
    public func blocks(named key: String, labelCount: Int) throws -> [HCLBlock] {
        var blocks: [HCLBlock] = []
        for value in values(for: key) {
            try Self.collectBlocks(from: value, key: key, labels: [], remaining: labelCount, into: &blocks)
        }
        return blocks
    }

    private static func collectBlocks(
        from value: HCLValue,
        key: String,
        labels: [String],
        remaining: Int,
        into blocks: inout [HCLBlock]
    ) throws {
        switch value {
        case .list(let elements):
            for element in elements {
                try collectBlocks(from: element, key: key, labels: labels, remaining: remaining, into: &blocks)
            }
        case .object(let object) where remaining == 0:
            blocks.append(HCLBlock(labels: labels, body: object))
        case .object(let object):
            for entry in object.entries {
                try collectBlocks(
                    from: entry.value,
                    key: key,
                    labels: labels + [entry.key],
                    remaining: remaining - 1,
                    into: &blocks
                )
            }
        default:
            throw HCLError("\(key): expected a block, found a \(value.kindName)")
        }
    }
}
