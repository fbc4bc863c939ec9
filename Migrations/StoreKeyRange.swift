/// The half-open range of keys that start with a prefix, under the store's bytewise (UTF-8) key order.
///
/// Both store schemas order keys bytewise (`BINARY` in SQLite, `COLLATE "C"` in PostgreSQL), so a prefix query is the
/// index range scan `key >= lowerBound AND key < upperBound` rather than `LIKE`, which would treat `%` and `_` in the
/// prefix as wildcards.
public struct StoreKeyRange: Sendable, Hashable {
    /// The smallest key in the range: the prefix itself.
    public var lowerBound: String
    /// The smallest key after every key with the prefix, or `nil` when no such bound exists (empty prefix, or a prefix
    /// made only of U+10FFFF).
    public var upperBound: String?

    /// The range of keys starting with `prefix`.
    ///
    /// The upper bound increments the last scalar that can be incremented and drops what follows; UTF-8 byte order
    /// equals scalar order, so this is exact.
    public init(prefix: String) {
        lowerBound = prefix
        var scalars = Array(prefix.unicodeScalars)
        upperBound = nil
        while let last = scalars.popLast() {
            if let next = Self.successor(of: last) {
                var bound = String.UnicodeScalarView()
                bound.append(contentsOf: scalars)
                bound.append(next)
                upperBound = String(bound)
                break
            }
        }
    }

    /// The next Unicode scalar value, skipping the surrogate range; `nil` after U+10FFFF.
    private static func successor(of scalar: Unicode.Scalar) -> Unicode.Scalar? {
        var value = scalar.value + 1
        if value == 0xD800 { value = 0xE000 }
        return Unicode.Scalar(value)
    }
}
