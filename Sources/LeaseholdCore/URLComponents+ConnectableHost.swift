import Foundation

extension URLComponents {
    /// The host as the URL spells it, ready to connect to: percent-decoded, without the brackets of an IPv6 literal,
    /// and never converted between Punycode and Unicode.
    ///
    /// Foundation's `host` turns an `xn--` name into Unicode, which DNS does not resolve, keeps the brackets of an IPv6
    /// literal, and loads ICU's IDNA tables to do it. `nil` when the URL has no host, or the host is empty, not ASCII,
    /// or holds a space or control character once decoded.
    public var connectableHost: String? {
        guard let text = string, let range = rangeOfHost else { return nil }
        var spelled = text[range]
        if spelled.hasPrefix("["), spelled.hasSuffix("]") {
            spelled = spelled.dropFirst().dropLast()
        }
        guard let host = String(spelled).removingPercentEncoding, !host.isEmpty,
            host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        return host
    }
}
