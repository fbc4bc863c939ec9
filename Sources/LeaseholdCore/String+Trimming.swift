extension StringProtocol {
    /// The text without leading and trailing Unicode white space (spaces, tabs, line breaks), as Go's
    /// `strings.TrimSpace` trims it.
    ///
    /// Foundation's `trimmingCharacters(in:)` goes through `NSString` and CoreFoundation's character sets on Linux:
    /// slower, and pages of code and tables a broker otherwise never touches.
    public func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}
