import LeaseholdCore

/// Random bytes, strings and identifiers from the system CSPRNG (`getrandom(2)` on Linux).
///
/// Character selection is unbiased: draws that would favour part of the alphabet are rejected.
public enum SecureRandom {
    /// The 62 characters `0-9`, `A-Z` and `a-z`, used for tokens and accessors.
    public static let base62Alphabet: [Character] =
        Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// Returns `count` random bytes.
    ///
    /// - Precondition: `count >= 0`.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "byte count must not be negative")
        var output = [UInt8](repeating: 0, count: count)
        fill(&output[...])
        return output
    }

    /// Returns a string of `length` characters drawn uniformly and independently from `alphabet`.
    ///
    /// - Precondition: `length >= 0` and `alphabet` is not empty.
    public static func string(length: Int, alphabet: [Character]) -> String {
        precondition(length >= 0, "length must not be negative")
        precondition(!alphabet.isEmpty, "alphabet must not be empty")
        var generator = SystemRandomNumberGenerator()
        var output = ""
        output.reserveCapacity(length)
        guard alphabet.count <= 256 else {
            for _ in 0..<length {
                output.append(alphabet[uniformIndex(below: alphabet.count, using: &generator)])
            }
            return output
        }
        // Each 64-bit draw (one getrandom call) gives up to eight characters: a byte picks `byte % count`, and bytes
        // at or above the largest multiple of `count` that fits in a byte are rejected, so every character stays
        // equally likely. A 32-character token takes about five calls instead of 32.
        let count = alphabet.count
        let acceptedBelow = 256 - 256 % count
        var produced = 0
        while produced < length {
            var word = generator.next()
            for _ in 0..<8 where produced < length {
                let byte = Int(word & 0xFF)
                word >>= 8
                if byte < acceptedBelow {
                    output.append(alphabet[byte % count])
                    produced += 1
                }
            }
        }
        return output
    }

    /// Returns a new token: `prefix` verbatim followed by 32 base62 characters (about 190 bits of entropy).
    ///
    /// The prefix includes its separator: `token(prefix: "s.")` yields e.g. `s.4kT…`, `token(prefix: "hvs.")`
    /// yields `hvs.…`.
    public static func token(prefix: String) -> String {
        prefix + string(length: 32, alphabet: base62Alphabet)
    }

    /// Returns a new token accessor: 24 base62 characters.
    public static func accessor() -> String {
        string(length: 24, alphabet: base62Alphabet)
    }

    /// Returns a random (version 4, RFC 9562) UUID as lowercase text, e.g. `1b4e28ba-2fa1-41d2-883f-0016d3cca427`.
    public static func uuid() -> String {
        var raw = bytes(16)
        raw[6] = (raw[6] & 0x0F) | 0x40  // version 4
        raw[8] = (raw[8] & 0x3F) | 0x80  // RFC 4122/9562 variant
        // Dashes inserted from the end, so the earlier positions stay where they are.
        var text = Array(raw.hexString.utf8)
        for position in [20, 16, 12, 8] { text.insert(UInt8(ascii: "-"), at: position) }
        return String(decoding: text, as: UTF8.self)
    }

    /// Overwrites every element of `buffer` with random bytes.
    static func fill(_ buffer: inout ArraySlice<UInt8>) {
        var generator = SystemRandomNumberGenerator()
        var index = buffer.startIndex
        while index < buffer.endIndex {
            var word = generator.next()
            for _ in 0..<Swift.min(8, buffer.endIndex - index) {
                buffer[index] = UInt8(truncatingIfNeeded: word)
                word &>>= 8
                index += 1
            }
        }
    }

    /// A uniformly distributed integer in `0..<upperBound`, by rejection sampling (as `arc4random_uniform`).
    static func uniformIndex(below upperBound: Int, using generator: inout some RandomNumberGenerator) -> Int {
        precondition(upperBound > 0)
        let bound = UInt64(upperBound)
        // 2^64 mod bound: draws below this value would make the low residues more likely, so they are rejected.
        let rejectionLimit = (0 &- bound) % bound
        while true {
            let draw: UInt64 = generator.next()
            if draw >= rejectionLimit {
                return Int(draw % bound)
            }
        }
    }
}
