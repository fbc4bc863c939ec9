/// How specifically a non-exact pattern matched a path; the most specific match wins.
///
/// Vault's documented order, from most to least significant: a later first wildcard (`+` or `*`) is more specific;
/// then a pattern without a trailing glob beats one with it; then fewer `+` segments; then a longer pattern; and
/// finally the lexically smaller pattern (an arbitrary but deterministic tie-break).
struct MatchSpecificity: Comparable {
    /// Byte offset of the first `+` or of the glob `*` in the pattern.
    var firstWildcardOffset: Int
    /// Whether the pattern ends with a glob.
    var isGlob: Bool
    /// The number of `+` segments.
    var wildcardSegments: Int
    /// The pattern without its trailing glob, compared by length and then bytewise.
    var pattern: String

    /// Whether `lhs` is less specific than `rhs`.
    static func < (lhs: MatchSpecificity, rhs: MatchSpecificity) -> Bool {
        if lhs.firstWildcardOffset != rhs.firstWildcardOffset {
            return lhs.firstWildcardOffset < rhs.firstWildcardOffset
        }
        if lhs.isGlob != rhs.isGlob { return lhs.isGlob }
        if lhs.wildcardSegments != rhs.wildcardSegments { return lhs.wildcardSegments > rhs.wildcardSegments }
        if lhs.pattern.utf8.count != rhs.pattern.utf8.count { return lhs.pattern.utf8.count < rhs.pattern.utf8.count }
        return rhs.pattern.utf8.lexicographicallyPrecedes(lhs.pattern.utf8)
    }
}
