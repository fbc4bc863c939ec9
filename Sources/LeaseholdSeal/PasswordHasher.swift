import Crypto
import Foundation
import LeaseholdCore
import _CryptoExtras

/// Password hashes for people (userpass): scrypt (N = 2^15, r = 8, p = 1, 32-byte salt), stored as
/// `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`. Verification is constant-time, and ``burn(_:)`` spends the
/// same work for unknown users so that timing does not reveal which usernames exist.
public enum PasswordHasher {
    static let rounds = 1 << 15
    static let blockSize = 8
    static let parallelism = 1

    /// Hashes a password with a fresh salt.
    public static func hash(_ password: SecretValue) throws -> String {
        let salt = SecureRandom.bytes(32)
        let derived = try derive(password, salt: salt, rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        return "scrypt$\(rounds)$\(blockSize)$\(parallelism)$\(Data(salt).base64EncodedString())$\(derived.base64EncodedString())"
    }

    /// Whether `password` matches `encoded`. Malformed hashes never match.
    public static func verify(_ password: SecretValue, against encoded: String) -> Bool {
        let parts = encoded.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let rounds = Int(parts[1]), let block = Int(parts[2]),
            let parallelism = Int(parts[3]), rounds <= 1 << 20, block <= 16, parallelism <= 4,
            let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
            let derived = try? derive(password, salt: Array(salt), rounds: rounds, blockSize: block, parallelism: parallelism)
        else { return false }
        return ConstantTime.equals(derived, expected)
    }

    /// Spends the same work as a verification, for a user that does not exist.
    public static func burn(_ password: SecretValue) {
        _ = try? derive(password, salt: Array(repeating: 0, count: 32), rounds: rounds, blockSize: blockSize, parallelism: parallelism)
    }

    private static func derive(_ password: SecretValue, salt: [UInt8], rounds: Int, blockSize: Int, parallelism: Int) throws -> Data {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.revealed.utf8), salt: salt, outputByteCount: 32, rounds: rounds, blockSize: blockSize,
            parallelism: parallelism)
        return key.withUnsafeBytes { Data($0) }
    }
}
