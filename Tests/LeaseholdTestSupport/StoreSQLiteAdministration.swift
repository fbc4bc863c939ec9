import GRDB

/// Direct access to a SQLite store file, for tests that simulate other broker versions or tampering.
public enum StoreSQLiteAdministration {
    /// Runs `sql` (trusted test SQL, no parameters) on the database at `path`.
    public static func execute(_ sql: String, inDatabaseAt path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
    }

    /// The `detail` lines of SQLite's query plan for `sql` with `arguments` on the database at `path`.
    public static func queryPlan(_ sql: String, arguments: StatementArguments, inDatabaseAt path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
        }
    }
}
