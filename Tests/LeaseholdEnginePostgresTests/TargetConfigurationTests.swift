import LeaseholdCore
import NIOSSL
import LeaseholdTestSupport
import Testing

@testable import LeaseholdEnginePostgres

@Suite("Target configuration")
struct TargetConfigurationTests {
    @Test func parsesVaultTemplateURLs() throws {
        let configuration = try PostgresTargetConfiguration.parse(
            connectionURL: "postgresql://{{username}}:{{password}}@db.internal:6543/app?sslmode=verify-ca&connect_timeout=5",
            username: "vaultadmin",
            password: SecretValue("s3cret")
        )
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6543)
        #expect(configuration.database == "app")
        #expect(configuration.username == "vaultadmin")
        #expect(configuration.password?.revealed == "s3cret")
        #expect(configuration.sslMode == .verifyCA)
        #expect(configuration.maxConnections == 4)
        #expect(configuration.statementTimeout == .seconds(10))
        #expect(configuration.lockTimeout == .seconds(5))
        #expect(configuration.effectiveHeirRole == "vaultadmin")
        #expect(configuration.bookkeepingRole == "leasehold_managed")
    }

    @Test func defaultsToFullVerificationAndAcceptsLiteralCredentials() throws {
        let configuration = try PostgresTargetConfiguration.parse(
            connectionURL: "postgres://admin:p%40ss@10.0.0.1/postgres", username: nil, password: nil
        )
        #expect(configuration.sslMode == .verifyFull)
        #expect(configuration.username == "admin")
        #expect(configuration.password?.revealed == "p@ss")
        #expect(try configuration.tlsConfiguration()?.certificateVerification == .fullVerification)
    }

    @Test(arguments: [
        ("postgres://u@[::1]:6543/db", "::1"),
        ("postgres://u@xn--fsqu00a.cn/db", "xn--fsqu00a.cn"),
        ("postgres://u@%64b.Example.COM/db", "db.Example.COM"),
        ("postgres://u@例子.cn/db", "xn--fsqu00a.cn"),
    ])
    func connectsToTheHostAsSpelled(_ url: String, _ host: String) throws {
        let configuration = try PostgresTargetConfiguration.parse(connectionURL: url, username: nil, password: nil)
        #expect(configuration.host == host)
    }

    @Test(arguments: [
        "mysql://u@h/db",
        "postgres://{{username}}@db%00.internal/db",
        "postgres://{{username}}@db%20internal/db",
        "postgres://{{username}}@[]/db",
        "postgres://{{username}}@h/db?sslmode=prefer",
        "postgres://{{username}}@h/db?sslrootcert=/etc/ca.pem",
        "postgres://{{username}}:{{password}}@/db",
        "postgres://h/db",
    ])
    func refusesUnsafeOrMalformedURLs(_ url: String) {
        let error = #expect(throws: LeaseholdError.self) {
            _ = try PostgresTargetConfiguration.parse(connectionURL: url, username: nil, password: SecretValue("hunter2"))
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.contains("hunter2") == false)
    }

    @Test func requireSkipsVerificationOnlyWhenAskedAndBadPEMIsRefused() throws {
        var configuration = PostgresTargetConfiguration(host: "h", database: "d", username: "u", password: nil, sslMode: .require)
        #expect(try configuration.tlsConfiguration()?.certificateVerification == NIOSSL.CertificateVerification.none)
        // As in libpq, a CA makes `require` verify the chain: a configured CA is never ignored.
        configuration.caCertificatePEM = try TestCertificateAuthority().certificatePEM
        #expect(try configuration.tlsConfiguration()?.certificateVerification == .noHostnameVerification)
        configuration.caCertificatePEM = nil
        configuration.sslMode = .disable
        #expect(try configuration.tlsConfiguration() == nil)
        configuration.sslMode = .verifyFull
        configuration.caCertificatePEM = "not a certificate"
        #expect(throws: LeaseholdError.invalidRequest("")) { _ = try configuration.tlsConfiguration() }
    }
}

/// How target failures reach callers: a failure the server never answered (no SQLSTATE: a lost or refused
/// connection, a cancelled wait) leaves the transaction's outcome unknown and is `targetUnavailable`, which makes
/// the issuer keep the pending lease for the reaper instead of cleaning up while the creation may still commit.
@Suite("Target failure classification")
struct TargetFailureClassificationTests {
    @Test func failuresWithoutAServerAnswerAreUnavailableAndServerRefusalsAreNot() {
        #expect(TargetDatabaseFailure(CancellationError()).leaseholdError("creating").code == .targetUnavailable)
        #expect(TargetDatabaseFailure(sqlState: nil, message: "gone", statementIndex: nil).leaseholdError("x").code == .targetUnavailable)
        #expect(TargetDatabaseFailure(sqlState: "42601", message: "syntax", statementIndex: 1).leaseholdError("x").code == .invalidRequest)
        #expect(TargetDatabaseFailure(sqlState: "23505", message: "dup", statementIndex: 1).leaseholdError("x").code == .internalError)
        #expect(PostgresDatabaseEngine.meansUnreachable(TargetDatabaseFailure(CancellationError()).leaseholdError("x")))
        #expect(!PostgresDatabaseEngine.meansUnreachable(LeaseholdError(.invalidRequest, "no")))
    }
}
