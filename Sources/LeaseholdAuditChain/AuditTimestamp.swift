import Foundation
import LeaseholdCore

/// Converts the canonical audit time text (``LeaseholdCore/AuditEvent/timestamp(_:)``) back into a `Date`.
///
/// Stores keep the canonical text (or an equivalent SQL timestamp rendered back to it), so that a record read back
/// hashes exactly as it did when appended.
public enum AuditTimestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS.ffffffZ` into a date whose canonical text is `text` again, or `nil` if malformed.
    public static func date(from text: String) -> Date? {
        let parts = text.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, parts[1].count == 7, parts[1].hasSuffix("Z"),
            let micros = Int64(parts[1].dropLast()), micros >= 0,
            let seconds = try? Date.ISO8601FormatStyle().parse(String(parts[0]) + "Z")
        else { return nil }
        // Half a microsecond past the instant, so that flooring to microseconds lands on `micros` despite the
        // binary floating-point representation of `Date`.
        let date = Date(timeIntervalSince1970: seconds.timeIntervalSince1970 + (Double(micros) + 0.5) / 1_000_000)
        return AuditEvent.timestamp(date) == text ? date : nil
    }
}
