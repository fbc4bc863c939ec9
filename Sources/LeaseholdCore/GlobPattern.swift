/// Matching with `*` wildcards anywhere (Vault's `strutil.GlobbedStringsMatch`).
public enum GlobPattern {
    /// Whether `value` matches `pattern`, where `*` matches any run of characters.
    public static func matches(_ pattern: String, _ value: String) -> Bool {
        if pattern == "*" { return true }
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 { return pattern == value }
        var remainder = Substring(value)
        guard remainder.hasPrefix(parts[0]) else { return false }
        remainder = remainder.dropFirst(parts[0].count)
        for middle in parts.dropFirst().dropLast() where !middle.isEmpty {
            guard let range = remainder.range(of: middle) else { return false }
            remainder = remainder[range.upperBound...]
        }
        return remainder.hasSuffix(parts.last ?? "")
    }
}
