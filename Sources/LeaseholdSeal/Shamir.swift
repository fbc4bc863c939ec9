import LeaseholdCore

/// Shamir secret sharing over GF(256), byte-compatible with Vault's and OpenBao's unseal key shares.
///
/// Each share is the polynomial's y-values (one per secret byte, so as long as the secret) followed by one byte,
/// the share's x-coordinate, which is random, distinct and in 1...255. Field arithmetic is constant-time and
/// the polynomial coefficients come from the system CSPRNG.
public enum Shamir {
    /// Splits `secret` into `shares` key shares, any `threshold` of which rebuild it.
    ///
    /// A threshold of 1 is allowed; every share then carries the secret itself in its y-values, so callers that
    /// need Vault's rule ("threshold must be greater than one for multiple shares") enforce it themselves.
    ///
    /// - Parameters:
    ///   - secret: The bytes to split; must not be empty.
    ///   - shares: The number of shares to produce, 1...255.
    ///   - threshold: The number of shares needed to rebuild the secret, 1...`shares`.
    /// - Returns: `shares` arrays of `secret.count + 1` bytes each.
    /// - Throws: `LeaseholdError` with code `.invalidRequest` when the configuration or the secret is invalid.
    /// - Complexity: O(`shares` × `threshold` × `secret.count`).
    public static func split(_ secret: [UInt8], shares: Int, threshold: Int) throws -> [[UInt8]] {
        try validate(shares: shares, threshold: threshold)
        guard !secret.isEmpty else {
            throw LeaseholdError(.invalidRequest, "cannot split an empty secret")
        }

        var generator = SystemRandomNumberGenerator()
        // x-coordinates: a random selection of distinct values in 1...255 (they are public, not secret).
        let xs = Array((UInt8(1)...UInt8(255)).shuffled(using: &generator).prefix(shares))
        var output = xs.map { x in
            var share = [UInt8](repeating: 0, count: secret.count + 1)
            share[secret.count] = x
            return share
        }

        var coefficients = [UInt8](repeating: 0, count: threshold)
        defer { overwrite(&coefficients) }
        for (byteIndex, secretByte) in secret.enumerated() {
            coefficients[0] = secretByte
            if threshold > 1 {
                SecureRandom.fill(&coefficients[1...])
            }
            for shareIndex in xs.indices {
                output[shareIndex][byteIndex] = GF256.evaluate(coefficients, at: xs[shareIndex])
            }
        }
        return output
    }

    /// Rebuilds the secret from key shares produced by ``split(_:shares:threshold:)`` (or by Vault).
    ///
    /// Whether enough shares were supplied is the caller's business: fewer than the threshold yield a wrong
    /// value, not an error, as in Vault.
    ///
    /// - Parameter shares: At least one share; all the same length (at least 2 bytes), with distinct, non-zero
    ///   x-coordinates.
    /// - Returns: The interpolated secret, one byte shorter than each share.
    /// - Throws: `LeaseholdError` with code `.invalidRequest` for missing, malformed or duplicate shares.
    ///   Messages never contain share bytes.
    /// - Complexity: O(*n*² + *n* × *m*) for *n* shares of *m* bytes.
    public static func combine(_ shares: [[UInt8]]) throws -> [UInt8] {
        guard let first = shares.first else {
            throw LeaseholdError(.invalidRequest, "at least one key share is required")
        }
        let length = first.count
        guard length >= 2 else {
            throw LeaseholdError(.invalidRequest, "invalid key share: too short")
        }
        guard shares.allSatisfy({ $0.count == length }) else {
            throw LeaseholdError(.invalidRequest, "all key shares must be the same length")
        }
        let xs = shares.map { $0[length - 1] }
        guard !xs.contains(0) else {
            throw LeaseholdError(.invalidRequest, "invalid key share: x-coordinate must not be zero")
        }
        var seen = Set<UInt8>()
        for x in xs where !seen.insert(x).inserted {
            throw LeaseholdError(.invalidRequest, "duplicate key share")
        }

        let weights = GF256.lagrangeWeightsAtZero(xs)
        var secret = [UInt8](repeating: 0, count: length - 1)
        for byteIndex in secret.indices {
            var value: UInt8 = 0
            for shareIndex in shares.indices {
                value ^= GF256.multiply(shares[shareIndex][byteIndex], weights[shareIndex])
            }
            secret[byteIndex] = value
        }
        return secret
    }

    /// Checks a share count and threshold against the rules of ``split(_:shares:threshold:)``.
    ///
    /// - Throws: `LeaseholdError` with code `.invalidRequest` and a Vault-like message.
    public static func validate(shares: Int, threshold: Int) throws {
        let problem: String? =
            if shares < 1 {
                "shares must be at least one"
            } else if shares > 255 {
                "shares must be less than 256"
            } else if threshold < 1 {
                "threshold must be at least one"
            } else if threshold > shares {
                "threshold must not exceed the number of shares"
            } else {
                nil
            }
        if let problem {
            throw LeaseholdError(.invalidRequest, "invalid seal configuration: \(problem)")
        }
    }

    /// Overwrites a scratch buffer that held secret-derived bytes (best effort; Swift may have made copies).
    private static func overwrite(_ buffer: inout [UInt8]) {
        for index in buffer.indices {
            buffer[index] = 0
        }
    }
}
