import Foundation
import GRDB
import LeaseholdCore
import LeaseholdMigrations
import Logging

/// Applies the shipped SQLite migrations and refuses databases with a newer schema.
enum SQLiteSchema {
    /// Brings the schema up to date: each pending migration runs in its own transaction and is recorded in
    /// `schema_migrations`.
    static func migrate(_ pool: DatabasePool, logger: Logger) async throws {
        let migrations = try StoreMigrations.load(dialect: .sqlite)
        try await pool.writeWithoutTransaction { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)
                    """
            )
            let current = try Int.fetchOne(db, sql: "SELECT max(version) FROM schema_migrations") ?? 0
            let supported = migrations.last?.version ?? 0
            guard current <= supported else {
                throw LeaseholdError(
                    .storeUnavailable,
                    "store schema version \(current) is newer than this broker supports (\(supported))"
                )
            }
            for migration in migrations where migration.version > current {
                try db.inTransaction {
                    try db.execute(sql: migration.sql)
                    try db.execute(
                        sql: "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        arguments: [migration.version, migration.name, AuditEvent.timestamp(Date())]
                    )
                    return .commit
                }
                logger.debug(
                    "applied store migration",
                    metadata: [
                        "store.migration.version": "\(migration.version)", "store.migration.name": "\(migration.name)",
                    ]
                )
            }
        }
    }
}
