import Foundation
import LeaseholdAuditChain
import LeaseholdCore
import Logging
import PostgresNIO

/// Applies groups of batches to PostgreSQL: one transaction per group, one savepoint per batch.
enum PostgresBatchWriter {
    /// Applies `group` in one transaction and returns once it is committed.
    static func apply(
        _ group: [StoreBatch],
        with client: PostgresClient,
        logger: Logger,
        timeout: Duration
    ) async throws -> [Result<Void, any Error>] {
        try await transaction(on: client, logger: logger, timeout: timeout, failure: "cannot commit to the PostgreSQL store") {
            connection in
            if group.contains(where: { !$0.auditEvents.isEmpty }) {
                // Take the chain head first, so that instances queue on it before they lock any entry rows.
                try await connection.query("SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE", logger: logger)
            }
            var results: [Result<Void, any Error>] = []
            for batch in group {
                try await connection.query("SAVEPOINT batch", logger: logger)
                do {
                    for operation in batch.operations { try await apply(operation, on: connection, logger: logger) }
                    if !batch.auditEvents.isEmpty {
                        try await append(batch.auditEvents, on: connection, logger: logger)
                    }
                    results.append(.success(()))
                } catch {
                    try await connection.query("ROLLBACK TO SAVEPOINT batch", logger: logger)
                    results.append(.failure(batchError(error)))
                }
                try await connection.query("RELEASE SAVEPOINT batch", logger: logger)
            }
            return results
        }
    }

    /// Runs `body` in a transaction within `timeout`, with the store's error mapping (``withStoreDeadline(_:_:_:)``).
    static func transaction<T: Sendable>(
        on client: PostgresClient,
        logger: Logger,
        timeout: Duration,
        failure: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withStoreDeadline(timeout, failure) {
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// Maps a failure inside one batch: conditions and lost lock races are conflicts, the rest is unavailability.
    private static func batchError(_ error: any Error) -> any Error {
        if let error = error as? LeaseholdError { return error }
        let retryable: Set<String> = ["40001", "40P01", "23505"]  // serialization failure, deadlock, unique violation
        if let state = (error as? PSQLError)?.serverInfo?[.sqlState], retryable.contains(state) {
            return LeaseholdError(.conflict, "a concurrent store write won the race", underlying: error)
        }
        return LeaseholdError(.storeUnavailable, "cannot write to the PostgreSQL store", underlying: error)
    }

    private static func apply(
        _ operation: StoreOperation,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let rows: PostgresRowSequence
        switch operation {
        case .put(let key, let value, .none):
            try await connection.query(
                """
                INSERT INTO entries (namespace, key, value, version)
                VALUES (\(key.namespace.rawValue), \(key.key), \(value), 1)
                ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = entries.version + 1
                """,
                logger: logger
            )
            return
        case .put(let key, let value, .absent):
            rows = try await connection.query(
                """
                INSERT INTO entries (namespace, key, value, version)
                VALUES (\(key.namespace.rawValue), \(key.key), \(value), 1)
                ON CONFLICT (namespace, key) DO NOTHING RETURNING version
                """,
                logger: logger
            )
        case .put(let key, let value, .version(let version)):
            rows = try await connection.query(
                """
                UPDATE entries SET value = \(value), version = version + 1
                WHERE namespace = \(key.namespace.rawValue) AND key = \(key.key) AND version = \(version)
                RETURNING version
                """,
                logger: logger
            )
        case .delete(let key, .none):
            try await connection.query(
                "DELETE FROM entries WHERE namespace = \(key.namespace.rawValue) AND key = \(key.key)",
                logger: logger
            )
            return
        case .delete(let key, .absent), .check(let key, .absent):
            if try await lockedVersion(of: key, on: connection, logger: logger) != nil { throw conflict(key) }
            return
        case .check(_, .none):
            return
        case .check(let key, .version(let version)):
            if try await lockedVersion(of: key, on: connection, logger: logger) != version { throw conflict(key) }
            return
        case .delete(let key, .version(let version)):
            rows = try await connection.query(
                """
                DELETE FROM entries
                WHERE namespace = \(key.namespace.rawValue) AND key = \(key.key) AND version = \(version)
                RETURNING version
                """,
                logger: logger
            )
        }
        if try await rowCount(rows) != 1 { throw conflict(operation.key) }
    }

    /// The version of `key`, or `nil` when it is absent, with the row (if any) locked until the commit: a
    /// concurrent update or delete of it waits for this transaction, so the check still holds when it commits.
    private static func lockedVersion(
        of key: StoreKey, on connection: PostgresConnection, logger: Logger
    ) async throws -> Int64? {
        let rows = try await connection.query(
            "SELECT version FROM entries WHERE namespace = \(key.namespace.rawValue) AND key = \(key.key) FOR SHARE",
            logger: logger
        )
        var version: Int64?
        for try await stored in rows.decode(Int64.self) { version = stored }
        return version
    }

    private static func rowCount(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    private static func conflict(_ key: StoreKey) -> LeaseholdError {
        LeaseholdError(.conflict, "store condition failed for a key in namespace \(key.namespace)")
    }

    /// Extends the hash chain from the `audit_head` row, locked until the transaction ends.
    private static func append(_ events: [AuditEvent], on connection: PostgresConnection, logger: Logger) async throws {
        var head: AuditChainHead?
        let headRows = try await connection.query(
            "SELECT sequence, hash FROM audit_head WHERE id = 1 FOR UPDATE",
            logger: logger
        )
        for try await (sequence, hash) in headRows.decode((Int64, Data).self) {
            head = AuditChainHead(sequence: sequence, hash: hash)
        }
        guard let head else {
            throw LeaseholdError(.auditFailure, "the audit chain head is missing from the PostgreSQL store")
        }
        let records = try AuditChain.link(events, after: head)
        for record in records {
            let columns = try AuditRecordColumns(record)
            try await connection.query(
                """
                INSERT INTO audit_log (sequence, time, request_id, type, operation, path, accessor, token_hmac,
                    display_name, policies, auth_method, remote_address, outcome, error_class, environment, details,
                    previous_hash, hash)
                VALUES (\(columns.sequence), \(columns.time)::timestamptz, \(columns.requestID), \(columns.type),
                    \(columns.operation), \(columns.path), \(columns.accessor), \(columns.tokenHMAC),
                    \(columns.displayName), \(columns.policies)::jsonb, \(columns.authMethod), \(columns.remoteAddress),
                    \(columns.outcome), \(columns.errorClass), \(columns.environment), \(columns.details)::jsonb,
                    \(columns.previousHash), \(columns.hash))
                """,
                logger: logger
            )
        }
        if let last = records.last {
            try await connection.query(
                "UPDATE audit_head SET sequence = \(last.sequence), hash = \(last.hash) WHERE id = 1",
                logger: logger
            )
        }
    }
}

extension StoreOperation {
    /// The key the operation writes.
    fileprivate var key: StoreKey {
        switch self {
        case .put(let key, _, _), .delete(let key, _), .check(let key, _): key
        }
    }
}
