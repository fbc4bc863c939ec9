import Foundation
import LeaseholdCore
import LeaseholdStorePostgres
import Logging
import PostgresNIO

/// A throw-away PostgreSQL database named `leasehold_test_<random>`, created on the test server.
public struct StoreTestDatabase: Sendable {
    /// The database name.
    public let name: String
    /// A URL that connects to this database with the server URL's credentials and options.
    public let url: String
    private let serverURL: String

    /// Creates a fresh, empty database on the server at `serverURL` (a database that the user may connect to).
    public static func create(on serverURL: String) async throws -> StoreTestDatabase {
        let name = "leasehold_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await execute("CREATE DATABASE \(quoted(name))", on: serverURL)
        guard var components = URLComponents(string: serverURL) else {
            throw LeaseholdError.invalidRequest("LEASEHOLD_TEST_POSTGRES_URL is not a URL")
        }
        components.path = "/" + name
        guard let url = components.string else {
            throw LeaseholdError.invalidRequest("LEASEHOLD_TEST_POSTGRES_URL is not a URL")
        }
        return StoreTestDatabase(name: name, url: url, serverURL: serverURL)
    }

    /// Drops the database, disconnecting any remaining sessions.
    public func drop() async throws {
        try await Self.execute("DROP DATABASE IF EXISTS \(Self.quoted(name)) WITH (FORCE)", on: serverURL)
    }

    /// Runs one SQL statement (without parameters) in this database.
    public func execute(_ sql: String) async throws {
        try await Self.execute(sql, on: url)
    }

    /// Runs a query (without parameters) in this database that returns one integer.
    public func integer(_ sql: String) async throws -> Int {
        let client = PostgresClient(configuration: try PostgresConnectionURL.configuration(from: url))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            var value = 0
            for try await row in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self) { value = row }
            return value
        }
    }

    /// The lines of PostgreSQL's plan (`EXPLAIN`) for `query` in this database.
    public func queryPlan(_ query: PostgresQuery) async throws -> [String] {
        let client = PostgresClient(configuration: try PostgresConnectionURL.configuration(from: url))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            var lines: [String] = []
            let explain = PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds)
            for try await line in try await client.query(explain).decode(String.self) { lines.append(line) }
            return lines
        }
    }

    /// A URL to this database with `parameters` instead of the server URL's, optionally another host and user
    /// (without password when a user is given).
    public func url(host: String? = nil, user: String? = nil, parameters: [String: String]) throws -> String {
        guard var components = URLComponents(string: url) else {
            throw LeaseholdError.invalidRequest("LEASEHOLD_TEST_POSTGRES_URL is not a URL")
        }
        if let host { components.host = host }
        if let user {
            components.user = user
            components.password = nil
        }
        components.queryItems = parameters.isEmpty ? nil : parameters.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        guard let url = components.string else { throw LeaseholdError.invalidRequest("cannot build a test URL") }
        return url
    }

    /// Runs `body` while another session holds `statement` (for example `SELECT … FOR UPDATE`) in an open
    /// transaction in this database.
    @discardableResult
    public func whileHolding<T: Sendable>(_ statement: String, _ body: () async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: try PostgresConnectionURL.configuration(from: url))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await client.withTransaction(logger: Logger(label: "leasehold.test.database")) { connection in
                try await connection.query(
                    PostgresQuery(unsafeSQL: statement),
                    logger: Logger(label: "leasehold.test.database")
                )
                return try await body()
            }
        }
    }

    /// Quotes an SQL identifier.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func execute(_ sql: String, on url: String) async throws {
        let client = PostgresClient(configuration: try PostgresConnectionURL.configuration(from: url))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: sql))
        }
    }
}
