import Foundation

/// One schema migration of the broker's own store: a numbered SQL script.
public struct StoreMigration: Sendable, Hashable {
    /// The schema version the script produces; versions start at 1 and have no gaps.
    public var version: Int
    /// The descriptive part of the file name, for example `initial`.
    public var name: String
    /// The SQL text. Statements end with `;` at the end of a line.
    public var sql: String

    /// Creates a migration.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The script's statements, split at lines that end with `;`, without comments-only or empty statements.
    ///
    /// Drivers that only accept one statement per call (PostgreSQL's extended protocol) run these one by one.
    public var statements: [String] {
        var statements: [String] = []
        var current = ""
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || trimmed.isEmpty { continue }
            current += line + "\n"
            if trimmed.hasSuffix(";") {
                statements.append(current)
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { statements.append(current) }
        return statements
    }
}

/// The migrations shipped with this broker, read from the `sqlite` and `postgres` resource folders.
public enum StoreMigrations {
    /// The SQL dialect of a store backend.
    public enum Dialect: String, Sendable, CaseIterable {
        /// SQLite 3.35 or later.
        case sqlite
        /// PostgreSQL 13 or later.
        case postgres
    }

    /// Loads the dialect's migrations (`NNNN_name.sql` files), sorted by version.
    ///
    /// Throws ``StoreMigrationError`` when the resources are missing, a file name is malformed, or versions have gaps.
    public static func load(dialect: Dialect) throws -> [StoreMigration] {
        guard let folder = Bundle.module.url(forResource: dialect.rawValue, withExtension: nil) else {
            throw StoreMigrationError("the \(dialect.rawValue) migrations are missing from the resource bundle")
        }
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        let migrations = try files.map { file in
            let stem = file.deletingPathExtension().lastPathComponent
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, let version = Int(parts[0]), version > 0 else {
                throw StoreMigrationError("migration file \(file.lastPathComponent) is not named NNNN_name.sql")
            }
            return StoreMigration(
                version: version,
                name: String(parts[1]),
                sql: try String(contentsOf: file, encoding: .utf8)
            )
        }.sorted { $0.version < $1.version }
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw StoreMigrationError("\(dialect.rawValue) migration versions must be 1, 2, 3, … without gaps")
        }
        return migrations
    }
}

/// A problem with the shipped migration files (a packaging error, not a runtime condition).
public struct StoreMigrationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
