import GRDB

/// Direct access to a SQLite store file, for tests that simulate other broker versions or tampering.
public enum StoreSQLiteAdministration {
    /// Runs `sql` (trusted test SQL, no parameters) on the database at `path`.
    public static func execute(_ sql: String, inDatabaseAt path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
    }
}
