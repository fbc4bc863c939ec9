/// How the engine sends new passwords to the target (Vault's `password_authentication`).
public enum PostgresPasswordAuthentication: String, Sendable, Hashable, CaseIterable {
    /// Sends the password as a literal; the server hashes it according to its `password_encryption`.
    case password
    /// Computes the SCRAM-SHA-256 verifier in the broker and sends only the verifier, so the plaintext never
    /// reaches the server (nor its statement logs).
    case scramSHA256 = "scram-sha-256"
}
