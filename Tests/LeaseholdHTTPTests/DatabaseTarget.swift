import Foundation
import LeaseholdCore
import LeaseholdTestSupport
import Logging
import PostgresNIO
import Testing

/// A throwaway target database with a table, a group role that may read it, and helpers to inspect `pg_roles`
/// and to log in as a generated user.
struct DatabaseTarget: Sendable {
    let database: StoreTestDatabase
    let serverURL: String
    let readers: String

    static var isAvailable: Bool { TestEnvironment.postgresURL != nil }

    static func make() async throws -> DatabaseTarget {
        let serverURL = try #require(TestEnvironment.postgresURL)
        let database = try await StoreTestDatabase.create(on: serverURL)
        let readers = "readers_" + UUID().uuidString.prefix(8).lowercased()
        try await database.execute("CREATE TABLE items (id int)")
        try await database.execute("INSERT INTO items VALUES (1), (2)")
        try await database.execute("CREATE TABLE canary (id int)")
        try await database.execute("CREATE ROLE \(readers) NOLOGIN")
        try await database.execute("GRANT SELECT ON items TO \(readers)")
        return DatabaseTarget(database: database, serverURL: serverURL, readers: readers)
    }

    func drop(admin: String? = nil) async throws {
        if let admin { try await database.execute("DROP OWNED BY \(admin)") }
        try await database.drop()
        try await database.execute(on: serverURL, "DROP ROLE IF EXISTS \(readers)")
        if let admin { try await database.execute(on: serverURL, "DROP ROLE IF EXISTS \(admin)") }
    }

    /// A dedicated admin role with CREATEROLE and ADMIN OPTION on the group role (not a superuser).
    func makeAdmin(password: String) async throws -> String {
        let admin = "admin_" + UUID().uuidString.prefix(8).lowercased()
        try await database.execute("CREATE ROLE \(admin) LOGIN CREATEROLE PASSWORD '\(password)'")
        try await database.execute("GRANT \(readers) TO \(admin) WITH ADMIN OPTION")
        return admin
    }

    /// `database/config/<name>` fields for this target, using the test server's superuser.
    var configFields: JSONValue {
        let components = URLComponents(string: serverURL)
        let host = components?.host ?? "127.0.0.1"
        let port = components?.port ?? 5432
        return [
            "plugin_name": "postgresql-database-plugin",
            "connection_url": .string("postgresql://{{username}}:{{password}}@\(host):\(port)/\(database.name)?sslmode=disable"),
            "username": .string(components?.user ?? "postgres"), "password": .string(components?.password ?? ""),
            "allowed_roles": "*",
        ]
    }

    /// A creation statement granting through the group role.
    var groupRoleStatement: String {
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE \(readers);"
    }

    /// Rows of a query as text, run as the admin.
    func query(_ sql: String) async throws -> [String] {
        try await Self.query(sql, url: database.url)
    }

    /// Whether a role exists.
    func roleExists(_ name: String) async throws -> Bool {
        try await query("SELECT 1 FROM pg_roles WHERE rolname = '\(name.replacingOccurrences(of: "'", with: "''"))'").count == 1
    }

    /// Whether the role is gone within `timeout`, polling every 50 ms (for revocations done in the background).
    func roleDisappears(_ name: String, within timeout: Duration = .seconds(5)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while try await roleExists(name) {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// Runs `sql` as `username`/`password` and returns the rows, or throws (login refused, permission denied).
    func query(_ sql: String, as username: String, password: String) async throws -> [String] {
        guard var components = URLComponents(string: database.url) else { throw LeaseholdError.invalidRequest("bad url") }
        components.user = username
        components.password = password
        return try await Self.query(sql, url: components.string ?? "")
    }

    static func query(_ sql: String, url: String) async throws -> [String] {
        guard let components = URLComponents(string: url) else { throw LeaseholdError.invalidRequest("bad url") }
        let configuration = PostgresConnection.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "target"))
        do {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "target"))
            var result: [String] = []
            for try await row in rows {
                result.append(row.makeRandomAccess().map { cell in (try? cell.decode(String?.self)) ?? nil ?? "" }.joined(separator: "|"))
            }
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

extension StoreTestDatabase {
    func execute(on serverURL: String, _ sql: String) async throws {
        _ = try await DatabaseTarget.query(sql, url: serverURL)
    }
}
