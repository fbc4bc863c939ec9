import Foundation
import LeaseholdCore
import LeaseholdStorePostgres
import LeaseholdTestSupport
import Testing

/// The PostgreSQL store over real TLS handshakes with the test server (`scripts/setup-debian.sh` gives it a
/// certificate from a throw-away CA that names `localhost` only, and a certificate-only role). A connection that
/// cannot be made fails the call within the store's operation deadline, short here.
@Suite(
    "PostgreSQL store over TLS",
    .enabled(if: TestEnvironment.postgresURL != nil && TestEnvironment.postgresTLS != nil, "needs the test server's TLS set-up")
)
struct PostgresStoreTLSTests {
    let tls = TestEnvironment.postgresTLS!

    /// Counts this database's sessions that use TLS, other than the counting one (which does not).
    static func encryptedSessions(_ database: StoreTestDatabase) async throws -> Int {
        try await database.integer(
            "SELECT count(*)::bigint FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE datname = current_database() AND ssl")
    }

    /// Checks that `store` answers and that its sessions in `database` are encrypted.
    static func expectWorkingOverTLS(_ store: any BrokerStore, _ database: StoreTestDatabase) async throws {
        let absent = try await store.entry(StoreKey(StoreNamespace(rawValue: "tls-test"), "absent"))
        #expect(absent == nil)
        let encrypted = try await encryptedSessions(database)
        #expect(encrypted >= 1)
    }

    /// How long a call waits for a connection that cannot be made.
    static let deadline: Duration = .seconds(3)

    /// Opening a store at `fixture` fails as unavailable (not, say, as a URL it could not parse), within the deadline.
    @discardableResult
    static func expectUnavailable(_ fixture: StoreFixture) async throws -> LeaseholdError? {
        let started = ContinuousClock.now
        let error = await #expect(throws: LeaseholdError.self) {
            try await fixture.withStore(operationTimeout: deadline) { _ in }
        }
        #expect(error?.code == .storeUnavailable)
        #expect(ContinuousClock.now - started < deadline * 3)
        return error
    }

    @Test("verify-full with the CA in sslrootcert: the store works over TLS")
    func verifiedWithTheCA() async throws {
        try await StoreFixture.withFixture(.postgres) { fixture in
            let database = try #require(fixture.database)
            let url = try database.url(host: "localhost", parameters: ["sslmode": "verify-full", "sslrootcert": tls.caPath])
            try await fixture.reached(through: url).withStore { store in
                try await Self.expectWorkingOverTLS(store, database)
            }
        }
    }

    @Test("without sslmode the server must verify: a certificate from an unknown CA is refused")
    func defaultModeRefusesAnUnknownCA() async throws {
        try await StoreFixture.withFixture(.postgres) { fixture in
            let database = try #require(fixture.database)
            let url = try database.url(host: "localhost", parameters: [:])
            let error = try await Self.expectUnavailable(fixture.reached(through: url))
            #expect(error.map { "\($0)" }?.contains("postgres:postgres") == false)
            let encrypted = try await Self.encryptedSessions(database)
            #expect(encrypted == 0)
        }
    }

    @Test("verify-full refuses a certificate that does not name the host; verify-ca checks the chain only; require nothing")
    func modesAsNamed() async throws {
        try await StoreFixture.withFixture(.postgres) { fixture in
            let database = try #require(fixture.database)
            // The certificate names localhost, not 127.0.0.1.
            let misnamed = try database.url(host: "127.0.0.1", parameters: ["sslmode": "verify-full", "sslrootcert": tls.caPath])
            try await Self.expectUnavailable(fixture.reached(through: misnamed))
            for parameters in [["sslmode": "verify-ca", "sslrootcert": tls.caPath], ["sslmode": "require"]] {
                let url = try database.url(host: "127.0.0.1", parameters: parameters)
                try await fixture.reached(through: url).withStore { store in
                    try await Self.expectWorkingOverTLS(store, database)
                }
            }
            let unverified = try database.url(host: "localhost", parameters: ["sslmode": "verify-ca"])
            try await Self.expectUnavailable(fixture.reached(through: unverified))
            // As in libpq, a CA makes `require` verify the chain: a certificate from another CA is refused.
            let otherCA = FileManager.default.temporaryDirectory.appendingPathComponent("other-ca-\(UUID().uuidString).pem").path
            try TestCertificateAuthority(commonName: "Another CA").certificatePEM.write(toFile: otherCA, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: otherCA) }
            let requireOtherCA = try database.url(host: "localhost", parameters: ["sslmode": "require", "sslrootcert": otherCA])
            try await Self.expectUnavailable(fixture.reached(through: requireOtherCA))
        }
    }

    @Test("sslcert and sslkey log in a certificate-only role; without them the server refuses it")
    func clientCertificateAuthentication() async throws {
        try await StoreFixture.withFixture(.postgres) { fixture in
            let database = try #require(fixture.database)
            try await database.execute("ALTER DATABASE \(database.name) OWNER TO \(tls.clientRole)")
            let verified = ["sslmode": "verify-full", "sslrootcert": tls.caPath]
            let withCertificate = try database.url(
                host: "localhost", user: tls.clientRole,
                parameters: verified.merging(["sslcert": tls.clientCertificatePath, "sslkey": tls.clientKeyPath]) { $1 })
            try await fixture.reached(through: withCertificate).withStore { store in
                try await Self.expectWorkingOverTLS(store, database)
            }
            let withoutCertificate = try database.url(host: "localhost", user: tls.clientRole, parameters: verified)
            try await Self.expectUnavailable(fixture.reached(through: withoutCertificate))
        }
    }
}
