import Crypto
import Foundation
import LeaseholdCore
import _CryptoExtras

/// A PostgreSQL SCRAM-SHA-256 password verifier
/// (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, RFC 5802/7677), computed in the broker so the
/// plaintext password never reaches the server.
///
/// PostgreSQL normalizes passwords with SASLprep before hashing; the engine only accepts printable ASCII passwords,
/// for which SASLprep is the identity, so the verifier matches what the server would compute.
struct SCRAMVerifier: Sendable {
    /// The iteration count PostgreSQL uses by default (`scram_iterations`).
    static let defaultIterations = 4096

    /// The verifier text to store as the role's password. Secret-equivalent for offline guessing; never log it.
    let text: SecretValue

    /// Computes a verifier for `password` with a fresh random 16-byte salt.
    init(password: SecretValue, iterations: Int = SCRAMVerifier.defaultIterations) throws {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        try self.init(password: password, salt: salt, iterations: iterations)
    }

    /// Computes the verifier for `password` with a given `salt` (deterministic; for tests against known vectors).
    init(password: SecretValue, salt: [UInt8], iterations: Int = SCRAMVerifier.defaultIterations) throws {
        let saltedPassword: SymmetricKey
        do {
            saltedPassword = try KDF.Insecure.PBKDF2.deriveKey(
                from: Array(password.revealed.utf8),
                salt: salt,
                using: .sha256,
                outputByteCount: 32,
                unsafeUncheckedRounds: iterations
            )
        } catch {
            throw LeaseholdError(.internalError, "could not compute the SCRAM-SHA-256 verifier")
        }
        let clientKey = HMAC<SHA256>.authenticationCode(for: Array("Client Key".utf8), using: saltedPassword)
        let storedKey = SHA256.hash(data: Data(clientKey))
        let serverKey = HMAC<SHA256>.authenticationCode(for: Array("Server Key".utf8), using: saltedPassword)
        text = SecretValue(
            "SCRAM-SHA-256$\(iterations):\(Data(salt).base64EncodedString())$"
                + "\(Data(storedKey).base64EncodedString()):\(Data(serverKey).base64EncodedString())"
        )
    }
}
