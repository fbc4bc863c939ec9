import Testing

@testable import LeaseholdSeal

/// The constant-time field arithmetic against a slow, obviously correct reference.
@Suite struct GF256Tests {
    /// Schoolbook carry-less multiplication followed by reduction modulo x^8 + x^4 + x^3 + x + 1.
    static func referenceMultiply(_ lhs: UInt8, _ rhs: UInt8) -> UInt8 {
        var wide: UInt16 = 0
        for bit in 0..<8 where rhs & (1 << bit) != 0 {
            wide ^= UInt16(lhs) << bit
        }
        for bit in stride(from: 15, through: 8, by: -1) where wide & (1 << bit) != 0 {
            wide ^= 0x11B << (bit - 8)
        }
        return UInt8(wide)
    }

    @Test func allProductsMatchTheReference() {
        var mismatches = 0
        for lhs in 0...255 {
            for rhs in 0...255 {
                let (lhs, rhs) = (UInt8(lhs), UInt8(rhs))
                if GF256.multiply(lhs, rhs) != Self.referenceMultiply(lhs, rhs) {
                    mismatches += 1
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func allInversesMatchTheReference() {
        #expect(GF256.inverse(0) == 0)
        for value in 1...255 {
            let inverse = GF256.inverse(UInt8(value))
            // Brute-force the unique element whose product with `value` is 1.
            let expected = (1...255).first { Self.referenceMultiply(UInt8(value), UInt8($0)) == 1 }
            #expect(Int(inverse) == expected, "inverse of \(value)")
            #expect(GF256.divide(UInt8(value), UInt8(value)) == 1)
        }
    }

    @Test func knownAESFieldValues() {
        // FIPS-197 §4.2: {57} • {83} = {c1}; the S-box derivation gives {53}^-1 = {ca}.
        #expect(GF256.multiply(0x57, 0x83) == 0xC1)
        #expect(GF256.multiply(0x57, 0x13) == 0xFE)
        #expect(GF256.inverse(0x53) == 0xCA)
    }

    @Test func polynomialEvaluationUsesHornersRule() {
        // p(x) = 7 + 3x + 5x^2
        let coefficients: [UInt8] = [7, 3, 5]
        for x in 0...255 {
            let x = UInt8(x)
            let expected = 7 ^ GF256.multiply(3, x) ^ GF256.multiply(5, GF256.multiply(x, x))
            #expect(GF256.evaluate(coefficients, at: x) == expected)
        }
    }
}
