import LeaseholdCore
import LeaseholdPostgresTLS
import LeaseholdTestSupport
import NIOSSL
import Testing

/// The one mapping from `sslmode` and PEM material to what NIOSSL checks, used by the store and the engine.
@Suite struct PostgresClientTLSTests {
    private static func configuration(
        _ mode: PostgresSSLMode, roots: String? = nil, certificate: String? = nil, key: String? = nil
    ) throws(PostgresClientTLS.Failure) -> TLSConfiguration? {
        try PostgresClientTLS.configuration(
            mode: mode, trustRootsPEM: roots.map { Array($0.utf8) }, clientCertificatePEM: certificate.map { Array($0.utf8) },
            clientKeyPEM: key.map(SecretValue.init))
    }

    @Test("each sslmode verifies what libpq's does; disable has no TLS at all")
    func verificationFollowsTheMode() throws {
        #expect(try Self.configuration(.disable) == nil)
        #expect(try Self.configuration(.require)?.certificateVerification == CertificateVerification.none)
        #expect(try Self.configuration(.verifyCA)?.certificateVerification == .noHostnameVerification)
        #expect(try Self.configuration(.verifyFull)?.certificateVerification == .fullVerification)
    }

    @Test("trust roots replace the system roots, and make require verify the chain")
    func trustRootsAreNeverIgnored() throws {
        let authority = try TestCertificateAuthority()
        let require = try #require(try Self.configuration(.require, roots: authority.certificatePEM))
        #expect(require.certificateVerification == .noHostnameVerification)
        let full = try #require(try Self.configuration(.verifyFull, roots: authority.certificatePEM))
        #expect(full.certificateVerification == .fullVerification)
        guard case .certificates(let roots) = full.trustRoots else {
            Issue.record("the configured roots were not used")
            return
        }
        #expect(roots.count == 1)
    }

    @Test("a client certificate and its key are used together")
    func clientIdentity() throws {
        let authority = try TestCertificateAuthority()
        let client = try authority.issue(commonName: "leasehold")
        let tls = try #require(try Self.configuration(.verifyFull, certificate: client.certificatePEM, key: client.privateKeyPEM))
        #expect(tls.certificateChain.count == 1)
        #expect(tls.privateKey != nil)
    }

    /// The failure `configuration` throws for the arguments, or `nil` when it accepts them.
    private static func failure(
        _ mode: PostgresSSLMode, roots: String? = nil, certificate: String? = nil, key: String? = nil
    ) -> PostgresClientTLS.Failure? {
        do {
            _ = try configuration(mode, roots: roots, certificate: certificate, key: key)
            return nil
        } catch {
            return error
        }
    }

    @Test("bad or incomplete PEM names the part that failed, never its content")
    func badMaterialIsRefused() throws {
        let client = try TestCertificateAuthority().issue(commonName: "leasehold")
        let hostileKey = "-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----\n"
        #expect(Self.failure(.verifyFull, roots: "not a certificate") == .trustRoots)
        #expect(Self.failure(.require, roots: "") == .trustRoots)
        #expect(Self.failure(.verifyFull, certificate: "", key: client.privateKeyPEM) == .clientCertificate)
        #expect(Self.failure(.verifyFull, certificate: client.certificatePEM, key: hostileKey) == .clientKey)
        #expect(Self.failure(.verifyFull, certificate: client.certificatePEM, key: client.certificatePEM) == .clientKey)
        #expect(Self.failure(.verifyFull, certificate: client.certificatePEM) == .unpairedClientIdentity)
        #expect(Self.failure(.verifyFull, key: client.privateKeyPEM) == .unpairedClientIdentity)
        #expect(Self.failure(.disable, roots: "ignored, as in libpq") == nil)
    }
}
