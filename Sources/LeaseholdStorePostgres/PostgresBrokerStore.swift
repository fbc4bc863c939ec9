import Foundation
import LeaseholdAuditChain
import LeaseholdCore
import LeaseholdMigrations
import Logging
import PostgresNIO

/// The broker's store in PostgreSQL, for one or several broker instances sharing a database.
///
/// Built on a `PostgresClient` connection pool. The composition root must run ``run()`` (for example as a task of its
/// service group) for as long as the store is used, then call ``migrate()`` once before serving:
///
/// ```swift
/// let store = try PostgresBrokerStore(url: url, logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await store.run() }
///     try await store.migrate()
///     …                       // serve
///     try await store.close() // makes run() return
/// }
/// ```
///
/// Concurrent commits of one instance share one transaction (group commit, see ``LeaseholdCore/GroupCommitQueue``).
/// Audit appends lock the single `audit_head` row, so instances extend the chain one at a time. Every statement is
/// bounded by the server-side `statement_timeout` given at creation, and every call (waiting for a connection
/// included: the pool retries an unreachable or untrusted server without end) by a deadline.
public final class PostgresBrokerStore: BrokerStore {
    private let client: PostgresClient
    private let commits: GroupCommitQueue<StoreBatch, Void>
    private let logger: Logger
    private let closed: AsyncStream<Never>
    private let closedContinuation: AsyncStream<Never>.Continuation
    private let operationTimeout: Duration
    private let commitTimeout: Duration

    /// Creates a store over a connection pool with `configuration`.
    ///
    /// - Parameters:
    ///   - configuration: Where and how to connect. The store adds a `statement_timeout` startup parameter.
    ///   - statementTimeout: The longest any statement (including lock waits) may run before the server cancels it.
    ///   - operationTimeout: The longest a read may wait, for a connection included, before it fails as
    ///     ``LeaseholdCore/LeaseholdError/Code/storeUnavailable``; by default `statementTimeout` plus 15 s. A commit
    ///     runs several statements, each bounded by `statementTimeout`, and may take twice `statementTimeout`
    ///     longer; when its deadline passes its outcome is unknown, like that of any write whose answer was lost.
    ///   - logger: Receives debug and trace messages; never secrets.
    public init(
        configuration: PostgresClient.Configuration,
        statementTimeout: Duration = .seconds(30),
        operationTimeout: Duration? = nil,
        logger: Logger
    ) {
        var configuration = configuration
        // A commit is acknowledged only once it is flushed, whatever the server's or database's default says
        // (`synchronous_commit = off` would lose acknowledged leases in a crash of the store's server).
        configuration.options.additionalStartupParameters.removeAll { ["statement_timeout", "synchronous_commit"].contains($0.0) }
        configuration.options.additionalStartupParameters.append(("statement_timeout", "\(statementTimeout.sqlMilliseconds)"))
        configuration.options.additionalStartupParameters.append(("synchronous_commit", "on"))
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        let operationTimeout = operationTimeout ?? statementTimeout + .seconds(15)
        let commitTimeout = operationTimeout + statementTimeout * 2
        self.operationTimeout = operationTimeout
        self.commitTimeout = commitTimeout
        (closed, closedContinuation) = AsyncStream.makeStream(of: Never.self)
        commits = GroupCommitQueue { group in
            try await PostgresBatchWriter.apply(group, with: client, logger: logger, timeout: commitTimeout)
        }
    }

    /// Creates a store from a `postgres://user:password@host:port/database?sslmode=…` URL.
    ///
    /// See ``PostgresConnectionURL`` for the accepted forms. Throws
    /// ``LeaseholdCore/LeaseholdError/Code/invalidRequest`` (without echoing the URL) when it is malformed.
    public convenience init(
        url: String, statementTimeout: Duration = .seconds(30), operationTimeout: Duration? = nil, logger: Logger
    ) throws {
        self.init(
            configuration: try PostgresConnectionURL.configuration(from: url),
            statementTimeout: statementTimeout,
            operationTimeout: operationTimeout,
            logger: logger
        )
    }

    /// Runs the connection pool until ``close()`` is called or the task is cancelled. Queries wait while it is not
    /// running.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            group.addTask { for await _ in self.closed {} }
            await group.next()
            group.cancelAll()
        }
    }

    /// Brings the schema up to date under a transaction-scoped advisory lock, so that instances starting together
    /// migrate one at a time.
    ///
    /// Throws ``LeaseholdCore/LeaseholdError/Code/storeUnavailable`` when the database has a newer schema than this
    /// broker ships, or cannot be reached.
    public func migrate() async throws {
        let migrations = try StoreMigrations.load(dialect: .postgres)
        let supported = migrations.last?.version ?? 0
        // A store that cannot be reached fails within the operation deadline. The migration itself may take long (an
        // index over a large audit table), so it runs without statement_timeout, within `migrationTimeout`.
        let logger = logger
        try await bounded("cannot migrate the PostgreSQL store") { [client] in _ = try await client.query("SELECT 1", logger: logger) }
        try await PostgresBatchWriter.transaction(
            on: client,
            logger: logger,
            timeout: Self.migrationTimeout,
            failure: "cannot migrate the PostgreSQL store"
        ) {
            connection in
            try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """,
                logger: logger
            )
            let rows = try await connection.query(
                "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations",
                logger: logger
            )
            var current = 0
            for try await version in rows.decode(Int.self) { current = version }
            guard current <= supported else {
                throw LeaseholdError(
                    .storeUnavailable,
                    "store schema version \(current) is newer than this broker supports (\(supported))"
                )
            }
            for migration in migrations where migration.version > current {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                )
                logger.debug(
                    "applied store migration",
                    metadata: [
                        "store.migration.version": "\(migration.version)", "store.migration.name": "\(migration.name)",
                    ]
                )
            }
        }
    }

    /// Reads one entry, or `nil` when absent.
    public func entry(_ key: StoreKey) async throws -> StoreEntry? {
        try await reading { [self] in
            let rows = try await client.query(
                "SELECT value, version FROM entries WHERE namespace = \(key.namespace.rawValue) AND key = \(key.key)",
                logger: logger
            )
            for try await (value, version) in rows.decode((Data, Int64).self) {
                return StoreEntry(value: value, version: version)
            }
            return nil
        }
    }

    /// Lists keys of a namespace that start with `prefix`, in ascending bytewise order, at most `limit`.
    ///
    /// Complexity: O(log n + k), a range scan of the primary key.
    public func keys(in namespace: StoreNamespace, prefix: String, after: String?, limit: Int) async throws -> [String]
    {
        guard limit > 0 else { return [] }
        var (condition, bindings) = Self.keyRange(in: namespace, prefix: prefix)
        if let after {
            bindings.append(after)
            condition += " AND key > $\(bindings.count)"
        }
        bindings.append(limit)
        let query = PostgresQuery(
            unsafeSQL: "SELECT key FROM entries WHERE \(condition) ORDER BY key LIMIT $\(bindings.count)", binds: bindings)
        return try await reading { [self] in
            var keys: [String] = []
            for try await key in try await client.query(query, logger: logger).decode(String.self) { keys.append(key) }
            return keys
        }
    }

    public func countKeys(in namespace: StoreNamespace, prefix: String, upTo limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        var (condition, bindings) = Self.keyRange(in: namespace, prefix: prefix)
        bindings.append(limit)
        let query = PostgresQuery(
            unsafeSQL: "SELECT count(*) FROM (SELECT 1 FROM entries WHERE \(condition) LIMIT $\(bindings.count)) AS capped",
            binds: bindings)
        return try await reading { [self] in
            for try await count in try await client.query(query, logger: logger).decode(Int.self) { return count }
            return 0
        }
    }

    /// The condition selecting `namespace`'s keys that start with `prefix` (an index range, see
    /// `StoreKeyRange`), with its bindings `$1`… for callers to extend.
    private static func keyRange(in namespace: StoreNamespace, prefix: String) -> (String, PostgresBindings) {
        let range = StoreKeyRange(prefix: prefix)
        var bindings = PostgresBindings()
        bindings.append(namespace.rawValue)
        bindings.append(range.lowerBound)
        var condition = "namespace = $1 AND key >= $2"
        if let upperBound = range.upperBound {
            bindings.append(upperBound)
            condition += " AND key < $\(bindings.count)"
        }
        return (condition, bindings)
    }

    /// Applies the batch atomically and durably, possibly sharing one transaction with concurrent commits.
    ///
    /// Throws ``LeaseholdCore/LeaseholdError/Code/conflict`` when a condition fails (nothing of the batch is applied).
    public func commit(_ batch: StoreBatch) async throws {
        guard !batch.isEmpty else { return }
        // Bounded here too: a batch queued behind a stuck group would otherwise wait for that group's deadline first.
        try await withStoreDeadline(commitTimeout, "cannot commit to the PostgreSQL store") { [commits] in
            try await commits.submit(batch)
        }
    }

    /// Reads the audit records that match `query` (values bound as parameters), at most `limit`.
    public func auditRecords(matching query: AuditQuery, limit: Int) async throws -> [AuditRecord] {
        guard limit > 0 else { return [] }
        try query.validate()
        let statement = Self.auditSelection(query, limit: limit)
        let columns = try await reading { [self] in
            let rows = try await client.query(statement, logger: logger)
            var columns: [AuditRecordColumns] = []
            for try await row in rows.decode(
                (
                    Int64, String, String, String, String, String, String, String, String, String, String, String,
                    String, String?, String, String, Data, Data
                ).self
            ) {
                columns.append(
                    AuditRecordColumns(
                        sequence: row.0,
                        time: row.1,
                        requestID: row.2,
                        type: row.3,
                        operation: row.4,
                        path: row.5,
                        accessor: row.6,
                        tokenHMAC: row.7,
                        displayName: row.8,
                        policies: row.9,
                        authMethod: row.10,
                        remoteAddress: row.11,
                        outcome: row.12,
                        errorClass: row.13,
                        environment: row.14,
                        details: row.15,
                        previousHash: row.16,
                        hash: row.17
                    )
                )
            }
            return columns
        }
        return try columns.map { try $0.makeRecord() }
    }

    /// The statement that reads the audit records matching `query`, at most `limit`, oldest (or newest) first.
    static func auditSelection(_ query: AuditQuery, limit: Int) -> PostgresQuery {
        var bindings = PostgresBindings()
        let conditions = AuditPredicate.conditions(for: query).map { render($0, into: &bindings) }
        bindings.append(Int64(limit))
        return PostgresQuery(
            unsafeSQL: """
                SELECT sequence, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), request_id, type,
                       operation, path, accessor, token_hmac, display_name, policies::text, auth_method,
                       remote_address, outcome, error_class, environment, details::text, previous_hash, hash
                FROM audit_log\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
                ORDER BY sequence \(query.newestFirst ? "DESC" : "ASC") LIMIT $\(bindings.count)
                """,
            binds: bindings)
    }

    /// PostgreSQL text for one predicate; its values are appended to `bindings` (`$n` placeholders).
    private static func render(_ predicate: AuditPredicate, into bindings: inout PostgresBindings) -> String {
        switch predicate {
        case .any(let alternatives):
            return "(" + alternatives.map { render($0, into: &bindings) }.joined(separator: " OR ") + ")"
        case .compare(let operand, let comparison, let value):
            let left: String
            switch operand {
            case .column(let column): left = column.rawValue
            case .detail(let key) where AuditPredicate.indexedDetails.contains(key):
                left = "(details->>'\(key)')"
            case .detail(let key):
                bindings.append(key)
                left = "(details->>$\(bindings.count))"
            }
            switch value {
            case .text(let text): bindings.append(text)
            case .integer(let integer): bindings.append(integer)
            case .time(let time): bindings.append(time)
            }
            return "\(left) \(comparison.rawValue) $\(bindings.count)" + (comparison == .like ? " ESCAPE '\\'" : "")
        }
    }

    /// Deletes audit records up to and including `sequence` (retention).
    public func deleteAuditRecords(through sequence: Int64) async throws {
        try await bounded("cannot delete audit records from the PostgreSQL store") { [self] in
            _ = try await client.query("DELETE FROM audit_log WHERE sequence <= \(sequence)", logger: logger)
        }
    }

    /// Waits for queued commits, then stops the connection pool (``run()`` returns).
    public func close() async throws {
        await commits.close()
        closedContinuation.finish()
    }

    /// The longest a migration may run once the store answered.
    static let migrationTimeout: Duration = .seconds(3600)

    /// The advisory lock key that serializes migrations: "leasehold" as a 64-bit number.
    static let migrationLockKey: Int64 = 0x6C65_6173_6568_6F6C

    /// `synchronous_commit` in the store's sessions: `on` whatever the server's default, so a commit is acknowledged
    /// only once it is flushed.
    public func synchronousCommitSetting() async throws -> String {
        try await reading { [self] in
            for try await value in try await client.query("SHOW synchronous_commit", logger: logger).decode(String.self) {
                return value
            }
            return ""
        }
    }

    /// Runs a read (``bounded(_:_:)``).
    private func reading<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await bounded("cannot read from the PostgreSQL store", body)
    }

    /// Runs one call within the operation deadline, with the store's error mapping (``withStoreDeadline(_:_:_:)``).
    private func bounded<T: Sendable>(_ failure: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withStoreDeadline(operationTimeout, failure, body)
    }
}
