import LeaseholdCore

/// Rejects JSON bodies that are too deeply nested, hold too many values or strings, too many entries in one array
/// or object, or too long a string, before any parser allocates for them. One linear pass over the bytes, tracking whether it
/// is inside a string and, per open container, how many entries it has seen (Vault's `max_json_*` listener limits).
public struct JSONComplexityGuard: Sendable {
    /// The deepest nesting of arrays and objects accepted.
    public var maximumDepth: Int
    /// The most strings (keys and values) accepted.
    public var maximumStrings: Int
    /// The most entries (elements or members) in one array or object.
    public var maximumEntries: Int
    /// The longest string accepted, in bytes as sent (escapes counted as written).
    public var maximumStringLength: Int
    /// The most values (of any kind, nested ones included) in the whole body: each becomes a parsed value in memory,
    /// and a body of nothing but small numbers in nested arrays would otherwise parse into gigabytes.
    public var maximumValues: Int

    /// Creates a guard; defaults follow OpenBao (1000 strings, 10,000 entries, 1 MiB strings) with a conservative
    /// depth.
    public init(
        maximumDepth: Int = 64, maximumStrings: Int = 1000, maximumEntries: Int = 10_000, maximumStringLength: Int = 1 << 20,
        maximumValues: Int = 100_000
    ) {
        self.maximumValues = maximumValues
        self.maximumDepth = maximumDepth
        self.maximumStrings = maximumStrings
        self.maximumEntries = maximumEntries
        self.maximumStringLength = maximumStringLength
    }

    /// Throws an invalid-request error when `bytes` exceeds a limit. Malformed JSON is left to the parser.
    public func check(_ bytes: some Sequence<UInt8>) throws {
        var strings = 0
        // Every value but the first of a container follows a comma, and each container is a value itself, so
        // commas + containers + 1 bounds the values.
        var values = 1
        var inString = false
        var escaped = false
        var stringLength = 0
        // Separators seen in each open container: entries = separators + 1.
        var separators: [Int] = []
        for byte in bytes {
            if inString {
                stringLength += 1
                if stringLength > maximumStringLength { throw Self.refused("exceeded maximum string length") }
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                stringLength = 0
                strings += 1
                if strings > maximumStrings { throw Self.refused("exceeded maximum number of strings") }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if separators.count >= maximumDepth { throw Self.refused("exceeded maximum depth") }
                separators.append(0)
                values += 1
                if values > maximumValues { throw Self.refused("exceeded maximum number of values") }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = separators.popLast()
            case UInt8(ascii: ","):
                guard !separators.isEmpty else { break }
                values += 1
                if values > maximumValues { throw Self.refused("exceeded maximum number of values") }
                separators[separators.count - 1] += 1
                if separators[separators.count - 1] >= maximumEntries {
                    throw Self.refused("exceeded maximum number of entries in an array or object")
                }
            default:
                break
            }
        }
    }

    private static func refused(_ reason: String) -> LeaseholdError {
        LeaseholdError.invalidRequest("refused JSON input due to high complexity: \(reason)")
    }
}
