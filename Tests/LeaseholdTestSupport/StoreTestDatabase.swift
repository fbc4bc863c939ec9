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
        try await rows(PostgresQuery(unsafeSQL: sql), as: Int.self).last ?? 0
    }

    /// The lines of PostgreSQL's plan (`EXPLAIN`) for `query` in this database.
    public func queryPlan(_ query: PostgresQuery) async throws -> [String] {
        try await rows(PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds), as: String.self)
    }

    /// The one-column rows of `query` in this database.
    private func rows<Value: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: Value.Type) async throws -> [Value] {
        try await Self.withClient(on: url) { client in
            var values: [Value] = []
            for try await value in try await client.query(query).decode(Value.self) { values.append(value) }
            return values
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
        try await Self.withClient(on: url) { client in
            try await client.withTransaction(logger: Logger(label: "leasehold.test.database")) { connection in
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
        try await withClient(on: url) { client in _ = try await client.query(PostgresQuery(unsafeSQL: sql)) }
    }

    /// Runs `body` with a connection pool to `url`, stopped when `body` returns.
    private static func withClient<T: Sendable>(on url: String, _ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: try PostgresConnectionURL.configuration(from: url))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
