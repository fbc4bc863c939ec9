import LeaseholdCore
import Testing

@testable import LeaseholdEnginePostgres

@Suite("SCRAM-SHA-256 verifier")
struct SCRAMVerifierTests {
    @Test func matchesAnIndependentImplementation() throws {
        // Computed with Python's hashlib.pbkdf2_hmac and hmac (RFC 5802 StoredKey/ServerKey).
        let verifier = try SCRAMVerifier(password: SecretValue("correct-horse-42"), salt: Array(0..<16))
        #expect(
            verifier.text.revealed
                == "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$QG2NclFn4NiKy1sXm8+U7SJTNN7yyp/vKZa/6vRpxaA=:LqL8xeT3JhN5bteSE7B5gL3uNQS2qI5NQMeSfmLNnkk="
        )
    }

    @Test func usesAFreshSaltEachTime() throws {
        let first = try SCRAMVerifier(password: SecretValue("same"))
        let second = try SCRAMVerifier(password: SecretValue("same"))
        #expect(first.text != second.text)
        #expect("\(first.text)" == "<redacted>")
    }
}
