/// The path a policy rule applies to, as written in `path "…" {}`.
///
/// Three kinds, following Vault:
/// - **exact**: no wildcard; matches only the identical path;
/// - **prefix**: a trailing `*` and no `+` segment; matches every path starting with the text before the `*`;
/// - **segment wildcard**: at least one `+` segment (`+` matches exactly one path segment), optionally ending in
///   `*` (the last segment is then a prefix and any further segments match too).
///
/// A leading `/` is removed. `+*` is rejected, as in Vault.
public struct PathPattern: Sendable, Hashable, CustomStringConvertible {
    /// How a pattern matches.
    public enum Kind: Sendable, Hashable {
        /// Only the identical path.
        case exact
        /// Every path that starts with ``PathPattern/stem``.
        case prefix
        /// Segment by segment, with `+` matching any one segment.
        case segmentWildcard
    }

    /// The pattern as written, without a leading `/`.
    public let text: String
    /// How the pattern matches.
    public let kind: Kind
    /// The pattern without its trailing `*`, when it has one.
    public let stem: String
    /// Whether the pattern ends with a glob `*`.
    public let isGlob: Bool

    /// Parses a pattern; throws a message suitable after `path "…": ` when it is malformed.
    public init(_ written: String) throws(PathPatternError) {
        let text = written.hasPrefix("/") ? String(written.dropFirst()) : written
        guard !text.contains("+*") else { throw PathPatternError("invalid use of wildcards ('+*' is forbidden)") }
        self.text = text
        // Vault's test for segment wildcards: the whole path is `+`, or some segment starts with `+`.
        let hasSegmentWildcards = text == "+" || text.contains("/+") || text.hasPrefix("+/")
        isGlob = text.hasSuffix("*")
        stem = isGlob ? String(text.dropLast()) : text
        kind = hasSegmentWildcards ? .segmentWildcard : (isGlob ? .prefix : .exact)
    }

    /// The pattern as written.
    public var description: String { text }

    /// How specific a match of this pattern on `path` is, or `nil` when the pattern does not match. Exact patterns
    /// are matched by lookup, not here, and always return `nil`.
    func specificity(matching path: String) -> MatchSpecificity? {
        switch kind {
        case .exact:
            return nil
        case .prefix:
            guard path.utf8.starts(with: stem.utf8) else { return nil }
            return MatchSpecificity(
                firstWildcardOffset: stem.utf8.count,
                isGlob: true,
                wildcardSegments: 0,
                pattern: stem
            )
        case .segmentWildcard:
            return segmentSpecificity(matching: path)
        }
    }

    private func segmentSpecificity(matching path: String) -> MatchSpecificity? {
        let patternSegments = stem.split(separator: "/", omittingEmptySubsequences: false)
        let pathSegments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard pathSegments.count >= patternSegments.count else { return nil }
        guard isGlob || pathSegments.count == patternSegments.count else { return nil }
        var wildcards = 0
        for (index, patternSegment) in patternSegments.enumerated() {
            let pathSegment = pathSegments[index]
            if patternSegment == "+" {
                wildcards += 1
            } else if patternSegment == pathSegment {
                continue
            } else if isGlob, index == patternSegments.count - 1, pathSegment.utf8.starts(with: patternSegment.utf8) {
                continue
            } else {
                return nil
            }
        }
        let firstPlus = text.utf8.firstIndex(of: UInt8(ascii: "+")).map {
            text.utf8.distance(from: text.utf8.startIndex, to: $0)
        }
        return MatchSpecificity(
            firstWildcardOffset: firstPlus ?? stem.utf8.count,
            isGlob: isGlob,
            wildcardSegments: wildcards,
            pattern: stem
        )
    }
}

/// Why a policy path pattern is invalid.
public struct PathPatternError: Error, Sendable, Hashable {
    /// A caller-safe description.
    public let message: String

    init(_ message: String) {
        self.message = message
    }
}
