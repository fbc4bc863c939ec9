/// A time-to-live in whole seconds, parsed the way Vault clients send it.
///
/// Accepts integers (`3600`), numeric strings (`"3600"`), and Go-style durations (`"1h30m"`, `"1h0m0s"`, `"90s"`,
/// `"0s"`, `"5m"`, `"2d"` is rejected as Go does not know days). Negative values and values of 10^12 seconds or
/// more (about 31,700 years) are rejected.
public struct TTL: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The duration in seconds; never negative.
    public let seconds: Int64

    /// Creates a TTL from seconds. Precondition: `seconds >= 0`.
    public init(seconds: Int64) {
        precondition(seconds >= 0, "a TTL is never negative")
        self.seconds = seconds
    }

    /// Zero: "not set" in Vault's APIs (never "forever").
    public static let zero = TTL(seconds: 0)

    /// Whether the TTL is zero.
    public var isZero: Bool { seconds == 0 }

    public static func < (lhs: TTL, rhs: TTL) -> Bool { lhs.seconds < rhs.seconds }

    /// Go-style rendering, for example `1h0m0s`.
    public var description: String {
        if seconds == 0 { return "0s" }
        let hours = seconds / 3600
        let minutes = (seconds % 3600) / 60
        let secs = seconds % 60
        if hours > 0 { return "\(hours)h\(minutes)m\(secs)s" }
        if minutes > 0 { return "\(minutes)m\(secs)s" }
        return "\(secs)s"
    }

    /// The bound of every duration accepted, in seconds (about 31,700 years): later date arithmetic in milliseconds
    /// must not overflow.
    public static let maximumSeconds: Int64 = 1_000_000_000_000

    /// A duration sent as a number of seconds: whole, non-negative and below ``maximumSeconds``; `nil` otherwise.
    public init?(wholeSeconds number: Double) {
        guard number >= 0, number == number.rounded(), number < Double(Self.maximumSeconds) else { return nil }
        self.init(seconds: Int64(number))
    }

    /// Parses a duration string or number; throws ``LeaseholdError`` (invalid request) on malformed input.
    public static func parse(_ text: String) throws -> TTL {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return .zero }
        if let whole = Int64(trimmed) {
            guard whole >= 0 else { throw LeaseholdError.invalidRequest("invalid duration: negative") }
            guard whole < Self.maximumSeconds else { throw LeaseholdError.invalidRequest("invalid duration \"\(text.prefix(32))\"") }
            return TTL(seconds: whole)
        }
        var total: Double = 0
        var number = ""
        var index = trimmed.startIndex
        var sawUnit = false
        while index < trimmed.endIndex {
            let character = trimmed[index]
            if character.isASCII, character.isNumber || character == "." {
                number.append(character)
                index = trimmed.index(after: index)
                continue
            }
            var unit = String(character)
            let next = trimmed.index(after: index)
            if character == "m", next < trimmed.endIndex, trimmed[next] == "s" {
                unit = "ms"
            }
            guard let value = Double(number), value.isFinite else {
                throw LeaseholdError.invalidRequest("invalid duration \"\(text.prefix(32))\"")
            }
            let scale: Double
            switch unit {
            case "h": scale = 3600
            case "m": scale = 60
            case "s": scale = 1
            case "ms": scale = 0.001
            default: throw LeaseholdError.invalidRequest("invalid duration \"\(text.prefix(32))\"")
            }
            total += value * scale
            number = ""
            sawUnit = true
            index = trimmed.index(index, offsetBy: unit.count)
        }
        guard number.isEmpty, sawUnit, total < Double(Self.maximumSeconds) else {
            throw LeaseholdError.invalidRequest("invalid duration \"\(text.prefix(32))\"")
        }
        return TTL(seconds: Int64(total.rounded(.down)))
    }
}

import Foundation
