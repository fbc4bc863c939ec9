import Foundation

/// Comparisons whose running time does not depend on the content of the compared values.
///
/// Use these for tokens, HMACs, nonces and anything else an attacker could learn byte by byte from timing
/// (GHSA-34fc-gh42-pj53). Only the lengths may leak.
public enum ConstantTime {
    /// Whether two byte sequences are equal, examining every byte of `lhs` whatever the content.
    ///
    /// Inputs of different lengths compare unequal, still after a full pass over `lhs`.
    public static func equals(_ lhs: some DataProtocol, _ rhs: some DataProtocol) -> Bool {
        equalBytes([UInt8](lhs), [UInt8](rhs))
    }

    /// Whether two strings have the same UTF-8 bytes, examining every byte of `lhs` whatever the content.
    ///
    /// No Unicode normalization is applied: this compares exact encodings, as secrets require.
    public static func equals(_ lhs: String, _ rhs: String) -> Bool {
        equalBytes(Array(lhs.utf8), Array(rhs.utf8))
    }

    @inline(never)
    private static func equalBytes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        let sameLength = lhs.count == rhs.count
        // With different lengths, compare lhs with itself so the pass still touches every byte of lhs.
        let other = sameLength ? rhs : lhs
        var difference: UInt8 = sameLength ? 0 : 1
        for index in lhs.indices {
            difference |= lhs[index] ^ other[index]
        }
        return difference == 0
    }
}
