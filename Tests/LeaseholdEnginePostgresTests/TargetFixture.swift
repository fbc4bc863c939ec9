import Foundation
import LeaseholdCore
import LeaseholdTestSupport
import Logging
import PostgresNIO
import Testing

@testable import LeaseholdEnginePostgres

/// A throw-away target: a fresh database with tables `items` (granted to the group role), `locked` and `canary`,
/// a group role `app_readers_<suffix>`, and a bookkeeping role `leasehold_managed_<suffix>` private to the fixture.
struct TargetFixture: Sendable {
    let database: StoreTestDatabase
    let suffix: String
    let logger: Logger = {
        var logger = Logger(label: "leasehold.test.engine") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["LEASEHOLD_TEST_LOG"] == nil ? .warning : .trace
        return logger
    }()

    var bookkeepingRole: String { "leasehold_managed_\(suffix)" }
    var readersRole: String { "app_readers_\(suffix)" }
    var roleAdmin: String { "lh_admin_\(suffix)" }

    /// The engine configuration for the test server, TLS disabled unless the URL asks for it.
    func configuration(
        _ authentication: PostgresPasswordAuthentication = .password,
        lockTimeout: Duration = .seconds(5)
    ) throws -> PostgresTargetConfiguration {
        let url = database.url
        var configuration = try PostgresTargetConfiguration.parse(connectionURL: url, username: nil, password: nil)
        if !url.contains("sslmode=") { configuration.sslMode = .disable }
        configuration.bookkeepingRole = bookkeepingRole
        configuration.passwordAuthentication = authentication
        configuration.lockTimeout = lockTimeout
        return configuration
    }

    /// Creates the database, tables and group role.
    static func make() async throws -> TargetFixture {
        guard let serverURL = TestEnvironment.postgresURL else { throw LeaseholdError.invalidRequest("no test server") }
        let fixture = TargetFixture(
            database: try await StoreTestDatabase.create(on: serverURL),
            suffix: String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(10))
        )
        for statement in [
            "CREATE TABLE items (id int PRIMARY KEY, label text)",
            "INSERT INTO items VALUES (1, 'one'), (2, 'two')",
            "CREATE TABLE locked (id int)",
            "CREATE TABLE canary (id int)",
            "CREATE ROLE \(fixture.readersRole) NOLOGIN",
            "GRANT SELECT ON items TO \(fixture.readersRole)",
        ] {
            try await fixture.database.execute(statement)
        }
        return fixture
    }

    /// Runs `body` with a fixture, then drops the database and every role the fixture or the engine created.
    static func with<T: Sendable>(_ body: (TargetFixture) async throws -> T) async throws -> T {
        let fixture = try await make()
        do {
            let result = try await body(fixture)
            try await fixture.destroy()
            return result
        } catch {
            try? await fixture.destroy()
            throw error
        }
    }

    /// Runs `body` with a running engine over `configuration`.
    func withEngine<T: Sendable>(
        _ configuration: PostgresTargetConfiguration? = nil,
        serializesCreation: Bool = true,
        _ body: (PostgresDatabaseEngine) async throws -> T
    ) async throws -> T {
        let engine = try PostgresDatabaseEngine(
            configuration: try configuration ?? self.configuration(),
            serializesCreation: serializesCreation,
            logger: logger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            defer { group.cancelAll() }
            do {
                let result = try await body(engine)
                await engine.shutdown()
                return result
            } catch {
                await engine.shutdown()
                throw error
            }
        }
    }

    /// Opens a connection to the fixture's database as `username` (the admin when `nil`) for `body`.
    func withConnection<T: Sendable>(
        as username: String? = nil,
        password: String? = nil,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        var connectionConfiguration = try configuration().connectionConfiguration(database: database.name)
        if let username {
            connectionConfiguration.username = username
            connectionConfiguration.password = password
        }
        let connection = try await PostgresConnection.connect(
            configuration: connectionConfiguration,
            id: Int.random(in: 1...Int(Int32.max)),
            logger: logger
        )
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The first column of the first row of `query`, run as the admin.
    func scalar<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> T? {
        try await withConnection { connection in
            var values: [T] = []
            for try await value in try await connection.query(query, logger: logger).decode(T.self) { values.append(value) }
            return values.first
        }
    }

    /// Starts `psql` as `username` running each of `statements` (separately committed) in the fixture's database:
    /// a session in another process.
    func startSession(as username: String, password: String, statements: [String]) throws -> Process {
        let configuration = try configuration()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", configuration.host, "-p", "\(configuration.port)",
            "-U", username, "-d", database.name,
        ] + statements.flatMap { ["-c", $0] }
        process.environment = ["PGPASSWORD": password, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits (up to 10 s) until a session of `username` runs a query containing `fragment`.
    func waitForSession(of username: String, running fragment: String) async throws {
        for _ in 0..<500 {
            let count = try await scalar(
                "SELECT count(*)::int FROM pg_stat_activity WHERE usename = \(username) AND strpos(query, \(fragment)) > 0",
                as: Int.self
            )
            if count ?? 0 > 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the session of \(username) did not start")
    }

    /// Creates a non-superuser admin with `CREATEROLE` that owns the fixture's database, and returns the engine
    /// configuration that connects as it.
    func createRoleAdminConfiguration() async throws -> PostgresTargetConfiguration {
        let password = "Admin-Pw-\(suffix)"
        try await database.execute("CREATE ROLE \(roleAdmin) LOGIN CREATEROLE PASSWORD '\(password)'")
        try await database.execute("ALTER DATABASE \(database.name) OWNER TO \(roleAdmin)")
        try await database.execute("ALTER TABLE items OWNER TO \(roleAdmin)")
        var configuration = try configuration()
        configuration.username = roleAdmin
        configuration.password = SecretValue(password)
        return configuration
    }

    /// Whether a role exists on the server.
    func roleExists(_ name: String) async throws -> Bool {
        try await scalar("SELECT count(*)::int FROM pg_roles WHERE rolname = \(name)", as: Int.self) == 1
    }

    /// A fresh username for a test.
    func username(_ tag: String = "u") throws -> DatabaseUsername {
        try DatabaseUsername("v-\(tag)-\(suffix)-\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// Drops the database, then the engine's users, the bookkeeping role and the group role.
    func destroy() async throws {
        let members: [String] = try await withConnection { connection in
            var names: [String] = []
            let rows = try await connection.query(
                """
                SELECT r.rolname::text FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid
                JOIN pg_roles b ON b.oid = m.roleid WHERE b.rolname = \(bookkeepingRole)
                """,
                logger: logger
            )
            for try await name in rows.decode(String.self) { names.append(name) }
            return names
        }
        try await database.drop()
        guard let serverURL = TestEnvironment.postgresURL else { return }
        let server = try PostgresTargetConfiguration.parse(connectionURL: serverURL, username: nil, password: nil)
        var serverConfiguration = try configuration().connectionConfiguration(database: server.database)
        serverConfiguration.username = server.username
        let connection = try await PostgresConnection.connect(configuration: serverConfiguration, id: 2, logger: logger)
        do {
            for role in members + [bookkeepingRole, readersRole, roleAdmin] {
                try await connection.query(PostgresQuery(unsafeSQL: "DROP ROLE IF EXISTS \"\(role)\""), logger: logger)
            }
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// The fixed password most tests use (printable ASCII, as the broker's generator produces).
let testPassword = SecretValue("Pw-3xample-Secret-9z")

/// A creation template granting through the group role and directly on `items`.
func readerTemplate(_ fixture: TargetFixture) -> [String] {
    [
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE \(fixture.readersRole);",
        "GRANT CONNECT ON DATABASE \"{{database}}\" TO \"{{name}}\"",
    ]
}

/// The reader template plus privileges that leave objects and grants to clean up at revocation (`CREATE` on the
/// schema, `SELECT` on every table).
func objectOwningTemplate(_ fixture: TargetFixture) -> [String] {
    readerTemplate(fixture) + [
        "GRANT CREATE ON SCHEMA public TO \"{{name}}\"",
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\"",
    ]
}

/// Whether the test server is configured.
let postgresAvailable = TestEnvironment.postgresURL != nil
