import Foundation
import LeaseholdCore
import LeaseholdStorePostgres
import LeaseholdStoreSQLite
import Logging

/// The store implementations under test.
public enum StoreKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// ``LeaseholdStoreSQLite/SQLiteBrokerStore``.
    case sqlite
    /// ``LeaseholdStorePostgres/PostgresBrokerStore``.
    case postgres

    /// The kinds this environment can test: SQLite always, PostgreSQL when ``TestEnvironment/postgresURL`` is set.
    public static var available: [StoreKind] {
        TestEnvironment.postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    /// The raw value.
    public var description: String { rawValue }
}

/// Where a test store lives: a SQLite file in a private temporary directory, or a throw-away PostgreSQL database.
///
/// A location outlives the stores opened on it, so a test can close and reopen a store to check persistence.
public struct StoreFixture: Sendable {
    /// The implementation.
    public let kind: StoreKind
    /// The SQLite file path, or the PostgreSQL database URL.
    public let address: String
    /// The throw-away database, for PostgreSQL.
    public let database: StoreTestDatabase?

    /// Makes a fresh location (a new temporary directory, or a new database). Requires
    /// ``TestEnvironment/postgresURL`` for PostgreSQL.
    public static func make(_ kind: StoreKind) async throws -> StoreFixture {
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("leasehold-test-\(UUID().uuidString)", isDirectory: true)
            return StoreFixture(
                kind: kind,
                address: directory.appendingPathComponent("store.sqlite").path,
                database: nil
            )
        case .postgres:
            guard let serverURL = TestEnvironment.postgresURL else {
                throw LeaseholdError(.storeUnavailable, "LEASEHOLD_TEST_POSTGRES_URL is not set")
            }
            let database = try await StoreTestDatabase.create(on: serverURL)
            return StoreFixture(kind: kind, address: database.url, database: database)
        }
    }

    /// The same location reached through `address` instead (another URL to the same PostgreSQL database).
    public func reached(through address: String) -> StoreFixture {
        StoreFixture(kind: kind, address: address, database: database)
    }

    /// Makes a fresh location for `body`, then deletes it.
    public static func withFixture<T: Sendable>(
        _ kind: StoreKind,
        _ body: (StoreFixture) async throws -> T
    ) async throws -> T {
        let fixture = try await make(kind)
        do {
            let result = try await body(fixture)
            try await fixture.destroy()
            return result
        } catch {
            try? await fixture.destroy()
            throw error
        }
    }

    /// Makes a fresh location, opens a store on it for `body`, then closes the store and deletes the location.
    public static func withStore<T: Sendable>(
        _ kind: StoreKind,
        _ body: (any BrokerStore, StoreFixture) async throws -> T
    ) async throws -> T {
        try await withFixture(kind) { fixture in try await fixture.withStore { try await body($0, fixture) } }
    }

    /// Opens a store on this location (running and migrating it as the composition root would), runs `body`, and
    /// closes the store. `statementTimeout` and `operationTimeout` apply to PostgreSQL.
    public func withStore<T: Sendable>(
        statementTimeout: Duration = .seconds(20),
        operationTimeout: Duration? = nil,
        _ body: (any BrokerStore) async throws -> T
    ) async throws -> T {
        let logger = Logger(label: "leasehold.test.store")
        switch kind {
        case .sqlite:
            let store = try await SQLiteBrokerStore(path: address, logger: logger)
            do {
                let result = try await body(store)
                try await store.close()
                return result
            } catch {
                try? await store.close()
                throw error
            }
        case .postgres:
            let store = try PostgresBrokerStore(
                url: address, statementTimeout: statementTimeout, operationTimeout: operationTimeout, logger: logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.run() }
                do {
                    try await store.migrate()
                    let result = try await body(store)
                    try await store.close()
                    return result
                } catch {
                    try? await store.close()
                    throw error
                }
            }
        }
    }

    /// Records schema version `version` as applied, as a newer broker would.
    public func recordSchemaVersion(_ version: Int) async throws {
        switch kind {
        case .sqlite:
            try StoreSQLiteAdministration.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(version), 'future', 'now')",
                inDatabaseAt: address
            )
        case .postgres:
            try await database?.execute("INSERT INTO schema_migrations (version, name) VALUES (\(version), 'future')")
        }
    }

    /// Deletes the location and everything in it.
    public func destroy() async throws {
        switch kind {
        case .sqlite:
            let directory = (address as NSString).deletingLastPathComponent
            if FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.removeItem(atPath: directory)
            }
        case .postgres:
            try await database?.drop()
        }
    }
}
