import Foundation
import LeaseholdCore
import LeaseholdTestSupport
import Testing

@testable import LeaseholdEnginePostgres

/// The engine over real TLS handshakes with the test server, whose certificate (naming `localhost` only) comes from
/// the throw-away CA of `scripts/setup-debian.sh`.
@Suite(
    "PostgreSQL engine over TLS",
    .enabled(if: postgresAvailable && TestEnvironment.postgresTLS != nil, "needs the test server's TLS set-up")
)
struct EngineTLSTests {
    let tls = TestEnvironment.postgresTLS!

    /// The fixture's configuration reaching the server as `localhost` in `mode`, trusting the test CA.
    func configuration(_ fixture: TargetFixture, _ mode: PostgresSSLMode, serverName: String? = nil) throws -> PostgresTargetConfiguration {
        var configuration = try fixture.configuration()
        configuration.host = "localhost"
        configuration.sslMode = mode
        configuration.caCertificatePEM = try tls.contents(of: tls.caPath)
        configuration.serverName = serverName
        return configuration
    }

    /// Checks that an engine over `configuration` does not get through the handshake.
    func expectRefused(_ fixture: TargetFixture, _ configuration: PostgresTargetConfiguration) async throws {
        try await fixture.withEngine(configuration) { engine in
            let error = await #expect(throws: LeaseholdError.self) { try await engine.verifyConnection() }
            #expect(error?.code == .targetUnavailable)
        }
    }

    /// Checks that an engine over `configuration` connects.
    func expectConnects(_ fixture: TargetFixture, _ configuration: PostgresTargetConfiguration) async throws {
        try await fixture.withEngine(configuration) { engine in try await engine.verifyConnection() }
    }

    @Test("verify-full with tls_ca: users are created over TLS")
    func createsUsersOverVerifiedTLS() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine(try configuration(fixture, .verifyFull)) { engine in
                let username = try fixture.username("tls")
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: username, password: testPassword, expiration: Date().addingTimeInterval(3600),
                        creationStatements: readerTemplate(fixture), leaseID: "lease-tls"))
                let encrypted = try await fixture.scalar(
                    """
                    SELECT count(*)::int FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
                    WHERE datname = current_database() AND application_name = 'leasehold' AND ssl
                    """, as: Int.self)
                #expect((encrypted ?? 0) >= 1)
                #expect(try await engine.revokeUser(username, statements: []) == .dropped)
            }
        }
    }

    @Test("verify-full refuses a certificate that does not name the host; verify-ca accepts it")
    func hostNameIsCheckedOnlyByVerifyFull() async throws {
        try await TargetFixture.with { fixture in
            try await expectRefused(fixture, try configuration(fixture, .verifyFull, serverName: "db.wrong.example"))
            try await expectConnects(fixture, try configuration(fixture, .verifyCA, serverName: "db.wrong.example"))
        }
    }

    @Test("require with tls_ca verifies the chain, as in libpq: another CA is refused, the right one accepted")
    func requireWithACAVerifiesTheChain() async throws {
        try await TargetFixture.with { fixture in
            var otherCA = try configuration(fixture, .require, serverName: "db.wrong.example")
            otherCA.caCertificatePEM = try TestCertificateAuthority(commonName: "Another CA").certificatePEM
            try await expectRefused(fixture, otherCA)
            try await expectConnects(fixture, try configuration(fixture, .require, serverName: "db.wrong.example"))
        }
    }

    @Test("without tls_ca the server's certificate does not verify against the system roots")
    func unknownCAIsRefused() async throws {
        try await TargetFixture.with { fixture in
            var untrusted = try configuration(fixture, .verifyFull)
            untrusted.caCertificatePEM = nil
            try await expectRefused(fixture, untrusted)
        }
    }

    @Test("tls_certificate and private_key log in a certificate-only role")
    func clientCertificateAuthentication() async throws {
        try await TargetFixture.with { fixture in
            var configuration = try configuration(fixture, .verifyFull)
            configuration.username = tls.clientRole
            configuration.password = nil
            configuration.database = "postgres"
            configuration.clientCertificatePEM = try tls.contents(of: tls.clientCertificatePath)
            configuration.clientKeyPEM = SecretValue(try tls.contents(of: tls.clientKeyPath))
            try await fixture.withEngine(configuration) { engine in
                // Logged in: the role is refused for lacking CREATEROLE, not by the server.
                let error = await #expect(throws: LeaseholdError.self) { try await engine.verifyConnection() }
                #expect(error?.code == .invalidRequest)
                #expect(error?.message.contains("CREATEROLE") == true)
            }
            configuration.clientCertificatePEM = nil
            configuration.clientKeyPEM = nil
            try await fixture.withEngine(configuration) { engine in
                let error = await #expect(throws: LeaseholdError.self) { try await engine.verifyConnection() }
                #expect(error?.code != .invalidRequest)
            }
        }
    }
}
