import LeaseholdCore

/// Rejects JSON bodies that are too deeply nested or hold too many strings, before any parser allocates for
/// them. One linear pass over the bytes, tracking only whether it is inside a string.
public struct JSONComplexityGuard: Sendable {
    /// The deepest nesting of arrays and objects accepted.
    public var maximumDepth: Int
    /// The most strings (keys and values) accepted.
    public var maximumStrings: Int

    /// Creates a guard; defaults follow OpenBao (1000 strings) with a conservative depth.
    public init(maximumDepth: Int = 64, maximumStrings: Int = 1000) {
        self.maximumDepth = maximumDepth
        self.maximumStrings = maximumStrings
    }

    /// Throws an invalid-request error when `bytes` exceeds a limit. Malformed JSON is left to the parser.
    public func check(_ bytes: some Sequence<UInt8>) throws {
        var depth = 0
        var strings = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
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
                strings += 1
                if strings > maximumStrings {
                    throw LeaseholdError.invalidRequest(
                        "refused JSON input due to high complexity: exceeded maximum number of strings")
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maximumDepth {
                    throw LeaseholdError.invalidRequest("refused JSON input due to high complexity: exceeded maximum depth")
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            default:
                break
            }
        }
    }
}
