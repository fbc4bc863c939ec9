/// Constant-time arithmetic in GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11B),
/// the field Vault's and OpenBao's Shamir implementation uses.
///
/// No operation indexes a table with its operands or branches on them (CVE-2023-25000): multiplication is
/// shift-and-xor with masks over a fixed eight rounds, and the inverse is the fixed exponentiation a^254.
enum GF256 {
    /// Adds (and subtracts) two field elements; both are XOR in characteristic 2.
    @inline(__always)
    static func add(_ lhs: UInt8, _ rhs: UInt8) -> UInt8 {
        lhs ^ rhs
    }

    /// Multiplies two field elements in constant time.
    @inline(__always)
    static func multiply(_ lhs: UInt8, _ rhs: UInt8) -> UInt8 {
        var product: UInt8 = 0
        var multiplicand = lhs
        var multiplier = rhs
        for _ in 0..<8 {
            // 0xFF when the low bit of the multiplier is set, 0x00 otherwise.
            product ^= (0 &- (multiplier & 1)) & multiplicand
            // 0xFF when multiplying by x overflows the byte, so the reduction polynomial is folded in.
            let carry = 0 &- (multiplicand &>> 7)
            multiplicand = (multiplicand &<< 1) ^ (carry & 0x1B)
            multiplier &>>= 1
        }
        return product
    }

    /// The multiplicative inverse, computed as a^254 in constant time; the inverse of 0 is defined as 0.
    static func inverse(_ value: UInt8) -> UInt8 {
        // a^254 = a^2 · a^4 · a^8 · a^16 · a^32 · a^64 · a^128.
        var power = value
        var result: UInt8 = 1
        for _ in 0..<7 {
            power = multiply(power, power)
            result = multiply(result, power)
        }
        return result
    }

    /// Divides `lhs` by `rhs`; dividing by 0 yields 0 (callers never divide by 0).
    static func divide(_ lhs: UInt8, _ rhs: UInt8) -> UInt8 {
        multiply(lhs, inverse(rhs))
    }

    /// Evaluates the polynomial with the given coefficients (constant term first) at `x`, by Horner's rule.
    ///
    /// Complexity: O(*n*) multiplications, where *n* is the number of coefficients.
    static func evaluate(_ coefficients: [UInt8], at x: UInt8) -> UInt8 {
        var result: UInt8 = 0
        for coefficient in coefficients.reversed() {
            result = add(multiply(result, x), coefficient)
        }
        return result
    }

    /// The Lagrange basis weights that interpolate a polynomial through points at the given distinct,
    /// non-zero x-coordinates and evaluate it at x = 0.
    ///
    /// The secret at 0 is then the sum of `y[i] · weights[i]`. The coordinates are public, so looping over
    /// their indices is not a side channel. Complexity: O(*n*²).
    static func lagrangeWeightsAtZero(_ xs: [UInt8]) -> [UInt8] {
        xs.indices.map { i in
            var numerator: UInt8 = 1
            var denominator: UInt8 = 1
            for j in xs.indices where j != i {
                // (0 - x_j) / (x_i - x_j); subtraction is XOR.
                numerator = multiply(numerator, xs[j])
                denominator = multiply(denominator, add(xs[i], xs[j]))
            }
            return divide(numerator, denominator)
        }
    }
}
