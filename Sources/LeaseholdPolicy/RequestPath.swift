import LeaseholdCore

/// Canonicalization of request paths, shared by the router and the ACL check.
///
/// The string ``normalize(_:)`` returns is **the** path of the request: the router must route on it and the ACL
/// must authorize it, so that no other spelling of the same resource can reach a handler (CVE-2026-3605).
public enum RequestPath {
    /// The longest accepted path, in UTF-8 bytes, before and after decoding.
    public static let maximumLength = 4096

    /// Returns the canonical form of the path after `/v1/` (query string already removed).
    ///
    /// Percent-decodes once and rejects, with `LeaseholdError(.invalidRequest, "invalid request path")`: an empty
    /// path; `.` or `..` segments; empty segments (`a//b`, a leading `/`), except that one trailing `/` is kept
    /// because it is meaningful (list operations); any percent-encoding of `.`, `/`, `\` or `%` (so `%2e`, `%2F`
    /// and double encodings like `%252e`); malformed escapes; backslashes; control characters (including NUL);
    /// invalid UTF-8; and paths longer than ``maximumLength``.
    public static func normalize(_ raw: String) throws -> String {
        guard raw.utf8.count <= maximumLength, let decoded = percentDecode(raw) else { throw invalid }
        guard !decoded.isEmpty, !decoded.unicodeScalars.contains(where: isForbidden) else { throw invalid }
        let segments = decoded.split(separator: "/", omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            let isTrailing = index == segments.count - 1 && index > 0
            if segment.isEmpty, !isTrailing { throw invalid }
            if segment == "." || segment == ".." { throw invalid }
        }
        return decoded
    }

    private static var invalid: LeaseholdError { LeaseholdError.invalidRequest("invalid request path") }

    private static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\\" || scalar.properties.generalCategory == .control
    }

    /// Decodes `%XX` escapes once; `nil` for a malformed escape, an escaped `.`, `/`, `\` or `%`, or invalid UTF-8.
    private static func percentDecode(_ raw: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.utf8.count)
        var iterator = raw.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexadecimalValue),
                let low = iterator.next().flatMap(hexadecimalValue)
            else { return nil }
            let decoded = high << 4 | low
            guard ![UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "%")].contains(decoded)
            else { return nil }
            bytes.append(decoded)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexadecimalValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
