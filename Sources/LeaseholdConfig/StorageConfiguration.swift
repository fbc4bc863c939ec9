/// Where the broker keeps its own encrypted state (`storage "…" { … }`, or the legacy `backend "…" { … }`).
public enum StorageConfiguration: Sendable, Hashable {
    /// SQLite; `directory` is the folder that holds the database file.
    case sqlite(directory: String)
    /// PostgreSQL, reached through a `postgres://` connection URL.
    case postgresql(connectionURL: String)
    /// Memory only; everything is lost on restart (tests and development).
    case inMemory
}
