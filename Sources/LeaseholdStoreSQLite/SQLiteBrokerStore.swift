import Foundation
import GRDB
import LeaseholdAuditChain
import LeaseholdCore
import LeaseholdMigrations
import Logging

/// The broker's store in a local SQLite database (GRDB `DatabasePool`, WAL, `synchronous=FULL`).
///
/// Suited to a single broker instance. Concurrent commits share one SQLite transaction and one fsync (group commit,
/// see ``LeaseholdCore/GroupCommitQueue``). The database file and its `-wal`/`-shm` companions are created with mode
/// 0600 in a directory with mode 0700.
public final class SQLiteBrokerStore: BrokerStore {
    /// The database file's path.
    public let path: String
    private let pool: DatabasePool
    private let commits: GroupCommitQueue<StoreBatch, Void>
    private let temporaryDirectory: URL?
    private let logger: Logger

    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    ///
    /// Throws ``LeaseholdCore/LeaseholdError/Code/storeUnavailable`` when the file cannot be opened or migrated, or
    /// when its schema is newer than this broker supports.
    public convenience init(path: String, logger: Logger) async throws {
        try await self.init(path: path, temporaryDirectory: nil, logger: logger)
    }

    /// Opens a store in a new private temporary directory, which ``close()`` deletes. For development and tests.
    public static func temporary(logger: Logger) async throws -> SQLiteBrokerStore {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("leasehold-\(UUID().uuidString)", isDirectory: true)
        return try await SQLiteBrokerStore(
            path: directory.appendingPathComponent("store.sqlite").path,
            temporaryDirectory: directory,
            logger: logger
        )
    }

    private init(path: String, temporaryDirectory: URL?, logger: Logger) async throws {
        self.path = path
        self.temporaryDirectory = temporaryDirectory
        self.logger = logger
        do {
            try SQLiteFiles.prepare(databasePath: path)
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(10)
            // Point reads run synchronously on the concurrency pool's threads (about one per core) and scans on
            // the scan queue (`scanning`): one reader each, plus one spare. Readers keep a small page cache: every
            // commit invalidates it anyway.
            configuration.maximumReaderCount =
                min(max(ProcessInfo.processInfo.activeProcessorCount, 2), 8) + Self.concurrentScans + 1
            configuration.prepareDatabase { db in
                if db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -512") }
                // Each batch of a group commit runs in a savepoint, whose rollback journal SQLite keeps in a temporary
                // file by default: two extra writes per changed page, and copies of store pages (audit rows are
                // plaintext) in a deleted file under /var/tmp. In memory it is neither.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets `synchronous = NORMAL` on the writer when it switches to WAL (after `prepareDatabase`), which
            // syncs only at checkpoints: a commit acknowledged before a power loss could vanish. Every commit must be
            // fsynced before the broker answers, so the writer is set to FULL here and checked.
            try await pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            guard try await Self.writerSettings(of: pool).synchronous == Self.fullSynchronous else {
                throw LeaseholdError(.storeUnavailable, "the SQLite writer refused synchronous = FULL")
            }
        } catch {
            throw LeaseholdError(.storeUnavailable, "cannot open the SQLite store", underlying: error)
        }
        do {
            try SQLiteFiles.restrictCompanions(of: path)
            try await SQLiteSchema.migrate(pool, logger: logger)
        } catch {
            try? pool.close()
            if let error = error as? LeaseholdError { throw error }
            throw LeaseholdError(.storeUnavailable, "cannot migrate the SQLite store", underlying: error)
        }
        let pool = pool
        commits = GroupCommitQueue { group in try await SQLiteBatchWriter.apply(group, to: pool) }
        logger.debug("opened SQLite store", metadata: ["store.path": "\(path)"])
    }

    /// SQLite's `synchronous = FULL`: the WAL is fsynced at every commit.
    static let fullSynchronous = 2

    /// The settings of the connection that commits, as SQLite reports them.
    public struct WriterSettings: Sendable, Equatable {
        /// `PRAGMA synchronous`: 2 (FULL) when every commit reaches the disk before it is acknowledged; the store
        /// refuses to open otherwise.
        public var synchronous: Int
        /// `PRAGMA temp_store`: 2 (MEMORY) when savepoint journals stay in memory.
        public var temporaryStore: Int
    }

    /// The settings of the connection that commits.
    public func writerSettings() async throws -> WriterSettings {
        try await Self.writerSettings(of: pool)
    }

    private static func writerSettings(of pool: DatabasePool) async throws -> WriterSettings {
        try await pool.barrierWriteWithoutTransaction { db in
            WriterSettings(
                synchronous: try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1,
                temporaryStore: try Int.fetchOne(db, sql: "PRAGMA temp_store") ?? -1)
        }
    }

    /// Reads one entry, or `nil` when absent.
    public func entry(_ key: StoreKey) async throws -> StoreEntry? {
        try reading { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT value, version FROM entries WHERE namespace = ? AND key = ?"),
                arguments: [key.namespace.rawValue, key.key]
            ).map { StoreEntry(value: $0["value"], version: $0["version"]) }
        }
    }

    /// Lists keys of a namespace that start with `prefix`, in ascending bytewise order, at most `limit`.
    ///
    /// Complexity: O(log n + k), a range scan of the primary key reading keys only. Up to ``inPlaceKeyLimit`` keys it
    /// runs in place like a point read (behind a slow audit search on the scan queue it would stall listings); longer
    /// pages (gauges, `revoke-prefix`, exports) go to the scan queue so they never hold a thread
    /// of the concurrency pool for long.
    public func keys(in namespace: StoreNamespace, prefix: String, after: String?, limit: Int) async throws -> [String]
    {
        guard limit > 0 else { return [] }
        var (condition, arguments) = Self.keyRange(in: namespace, prefix: prefix)
        if let after {
            condition += " AND key > ?"
            arguments += [after]
        }
        arguments += [limit]
        let (statement, statementArguments) = ("SELECT key FROM entries WHERE \(condition) ORDER BY key LIMIT ?", arguments)
        let read: @Sendable (Database) throws -> [String] = { db in
            try String.fetchAll(db.cachedStatement(sql: statement), arguments: statementArguments)
        }
        return limit <= Self.inPlaceKeyLimit ? try reading(read) : try await scanning(read)
    }

    /// The longest key page read in place rather than on the scan queue.
    static let inPlaceKeyLimit = 1_024

    public func countKeys(in namespace: StoreNamespace, prefix: String, upTo limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        var (condition, arguments) = Self.keyRange(in: namespace, prefix: prefix)
        arguments += [limit]
        let (statement, statementArguments) = (
            "SELECT count(*) FROM (SELECT 1 FROM entries WHERE \(condition) LIMIT ?)", arguments
        )
        let read: @Sendable (Database) throws -> Int = { db in
            try Int.fetchOne(db.cachedStatement(sql: statement), arguments: statementArguments) ?? 0
        }
        // Counting steps through the index without building strings: ~64 times cheaper per key than a page.
        return limit <= Self.inPlaceKeyLimit * 64 ? try reading(read) : try await scanning(read)
    }

    /// The condition selecting `namespace`'s keys that start with `prefix` (an index range, see `StoreKeyRange`),
    /// with its arguments, for callers to extend.
    private static func keyRange(in namespace: StoreNamespace, prefix: String) -> (String, StatementArguments) {
        let range = StoreKeyRange(prefix: prefix)
        var condition = "namespace = ? AND key >= ?"
        var arguments: StatementArguments = [namespace.rawValue, range.lowerBound]
        if let upperBound = range.upperBound {
            condition += " AND key < ?"
            arguments += [upperBound]
        }
        return (condition, arguments)
    }

    /// Applies the batch atomically and durably, possibly sharing one transaction with concurrent commits.
    ///
    /// Throws ``LeaseholdCore/LeaseholdError/Code/conflict`` when a condition fails (nothing of the batch is applied).
    public func commit(_ batch: StoreBatch) async throws {
        guard !batch.isEmpty else { return }
        try await commits.submit(batch)
    }

    /// Reads the audit records that match `query` (values bound as parameters), at most `limit`.
    public func auditRecords(matching query: AuditQuery, limit: Int) async throws -> [AuditRecord] {
        guard limit > 0 else { return [] }
        try query.validate()
        let predicates = AuditPredicate.conditions(for: query)
        let (sql, statementArguments) = Self.auditSelection(predicates, newestFirst: query.newestFirst, limit: limit)
        let read: @Sendable (Database) throws -> [AuditRecordColumns] = { db in
            try Row.fetchAll(db, sql: sql, arguments: statementArguments).map(Self.auditColumns(from:))
        }
        // A page by sequence alone (what audit devices and checkpoints read) walks the primary key: read in place.
        // Any other filter may scan many rows before it finds `limit`: on the scan queue.
        let bySequenceOnly = predicates.allSatisfy {
            if case .compare(.column(.sequence), _, _) = $0 { true } else { false }
        }
        let columns = bySequenceOnly ? try reading(read) : try await scanning(read)
        return try columns.map { try $0.makeRecord() }
    }

    /// The statement and arguments that read the audit records matching `predicates`, at most `limit`.
    static func auditSelection(
        _ predicates: [AuditPredicate], newestFirst: Bool, limit: Int
    ) -> (sql: String, arguments: StatementArguments) {
        var arguments: [DatabaseValue] = []
        let conditions = predicates.map { render($0, into: &arguments) }
        arguments.append(limit.databaseValue)
        let sql = """
            SELECT sequence, time, request_id, type, operation, path, accessor, token_hmac, display_name,
                   policies, auth_method, remote_address, outcome, error_class, environment, details,
                   previous_hash, hash
            FROM audit_log\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            ORDER BY sequence \(newestFirst ? "DESC" : "ASC") LIMIT ?
            """
        return (sql, StatementArguments(arguments.map { $0 as (any DatabaseValueConvertible)? }))
    }

    /// SQLite text for one predicate; its values go to `arguments`.
    private static func render(_ predicate: AuditPredicate, into arguments: inout [DatabaseValue]) -> String {
        switch predicate {
        case .any(let alternatives):
            return "(" + alternatives.map { render($0, into: &arguments) }.joined(separator: " OR ") + ")"
        case .compare(let operand, let comparison, let value):
            let left: String
            switch operand {
            case .column(let column): left = column.rawValue
            case .detail(let key) where AuditPredicate.indexedDetails.contains(key):
                left = "json_extract(details, '$.\(key)')"
            case .detail(let key):
                arguments.append(("$.\"" + key + "\"").databaseValue)
                left = "json_extract(details, ?)"
            }
            switch value {
            case .text(let text): arguments.append(text.databaseValue)
            case .integer(let integer): arguments.append(integer.databaseValue)
            case .time(let time): arguments.append(AuditEvent.timestamp(time).databaseValue)
            }
            return "\(left) \(comparison.rawValue) ?" + (comparison == .like ? " ESCAPE '\\'" : "")
        }
    }

    /// Deletes audit records up to and including `sequence` (retention).
    public func deleteAuditRecords(through sequence: Int64) async throws {
        do {
            try await pool.write { db in try db.execute(sql: "DELETE FROM audit_log WHERE sequence <= ?", arguments: [sequence]) }
        } catch {
            throw LeaseholdError(.storeUnavailable, "cannot delete audit records from the SQLite store", underlying: error)
        }
    }

    /// Waits for queued commits, then closes the database (and deletes it if it is ``temporary(logger:)``).
    public func close() async throws {
        await commits.close()
        do {
            try pool.close()
            if let temporaryDirectory { try FileManager.default.removeItem(at: temporaryDirectory) }
        } catch {
            throw LeaseholdError(.storeUnavailable, "cannot close the SQLite store", underlying: error)
        }
        logger.debug("closed SQLite store", metadata: ["store.path": "\(path)"])
    }

    /// Runs a read on the calling thread. Every read is synchronous: a point lookup (`entry`) runs where it is
    /// asked, because an indexed lookup takes microseconds, less than the two thread switches of GRDB's
    /// asynchronous read (to a reader's queue and back), which dominated the broker's CPU profile; scans run on the
    /// scan queue (`scanning`). GRDB's asynchronous reads are never used: one keeps its reader connection across a
    /// suspension and needs a concurrency-pool thread to give it back, while synchronous readers may be blocking
    /// every such thread while they wait for a connection, a deadlock. With synchronous reads only, a reader is
    /// always released by the thread using it.
    ///
    /// `body` must run exactly one statement: it runs without GRDB's `BEGIN`/`COMMIT` around it (a quarter of a
    /// point read's cost), and one statement already reads one consistent snapshot of the WAL.
    private func reading<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.unsafeRead(body)
        } catch {
            throw Self.readFailure(error)
        }
    }

    /// How many scans run at once.
    static let concurrentScans = 2

    /// Where reads that may visit many rows run (audit queries with filters, long key pages): never on the
    /// concurrency pool, whose few threads a slow scan would take from every other request. Still synchronous
    /// GRDB reads, so every reader is released by the thread that uses it.
    private static let scans: OperationQueue = {
        let queue = OperationQueue()
        queue.name = "leasehold.sqlite.scans"
        queue.maxConcurrentOperationCount = concurrentScans
        return queue
    }()

    /// Runs `body` as a read on the scan queue.
    private func scanning<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Self.scans.addOperation { [self] in continuation.resume(with: Result { try reading(body) }) }
        }
    }

    private static func readFailure(_ error: any Error) -> any Error {
        if error is LeaseholdError || error is CancellationError { return error }
        return LeaseholdError(.storeUnavailable, "cannot read from the SQLite store", underlying: error)
    }

    /// Reads the columns of an `audit_log` row.
    private static func auditColumns(from row: Row) -> AuditRecordColumns {
        AuditRecordColumns(
            sequence: row["sequence"],
            time: row["time"],
            requestID: row["request_id"],
            type: row["type"],
            operation: row["operation"],
            path: row["path"],
            accessor: row["accessor"],
            tokenHMAC: row["token_hmac"],
            displayName: row["display_name"],
            policies: row["policies"],
            authMethod: row["auth_method"],
            remoteAddress: row["remote_address"],
            outcome: row["outcome"],
            errorClass: row["error_class"],
            environment: row["environment"],
            details: row["details"],
            previousHash: row["previous_hash"],
            hash: row["hash"]
        )
    }
}
