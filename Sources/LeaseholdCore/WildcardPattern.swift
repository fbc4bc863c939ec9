/// A wildcard pattern (Vault's globs for bound claims, service accounts, certificate names and `allowed_roles`):
/// `*` matches any run of characters (including none) and every other character matches itself. `team-*` matches
/// `team-a` and `team-` but not `teams`; `*` alone matches everything. Matching is linear in practice and at worst
/// proportional to the product of the two lengths, both bounded by the callers.
public struct WildcardPattern: Sendable, Hashable {
    private let pattern: [Character]

    /// Creates the pattern.
    public init(_ pattern: String) { self.pattern = Array(pattern) }

    /// Whether `text` matches.
    public func matches(_ text: String) -> Bool {
        let text = Array(text)
        var textIndex = 0
        var patternIndex = 0
        var lastStar: Int?
        var resumeText = 0
        while textIndex < text.count {
            if patternIndex < pattern.count, pattern[patternIndex] == "*" {
                lastStar = patternIndex
                resumeText = textIndex
                patternIndex += 1
            } else if patternIndex < pattern.count, pattern[patternIndex] == text[textIndex] {
                patternIndex += 1
                textIndex += 1
            } else if let star = lastStar {
                patternIndex = star + 1
                resumeText += 1
                textIndex = resumeText
            } else {
                return false
            }
        }
        while patternIndex < pattern.count, pattern[patternIndex] == "*" { patternIndex += 1 }
        return patternIndex == pattern.count
    }

    /// Whether any of `patterns` matches `text`; an empty list matches nothing.
    public static func anyMatches(_ patterns: [String], _ text: String) -> Bool {
        patterns.contains { WildcardPattern($0).matches(text) }
    }
}
