import Foundation
import GRDB
import LeaseholdAuditChain
import LeaseholdCore

/// Applies groups of batches to SQLite: one transaction per group, one savepoint per batch.
enum SQLiteBatchWriter {
    /// Applies `group` in one transaction and returns once it is committed (the write is not cancellable, so a
    /// cancelled leader cannot fail the other batches of its group).
    static func apply(_ group: [StoreBatch], to pool: DatabasePool) async throws -> [Result<Void, any Error>] {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                pool.asyncWrite({ db in group.map { batch in apply(batch, in: db) } }) { _, result in
                    continuation.resume(with: result)
                }
            }
        } catch {
            throw LeaseholdError(.storeUnavailable, "cannot commit to the SQLite store", underlying: error)
        }
    }

    /// Applies one batch inside its own savepoint; a failure rolls back this batch only.
    private static func apply(_ batch: StoreBatch, in db: Database) -> Result<Void, any Error> {
        do {
            try db.inSavepoint {
                for operation in batch.operations { try apply(operation, in: db) }
                if !batch.auditEvents.isEmpty { try append(batch.auditEvents, in: db) }
                return .commit
            }
            return .success(())
        } catch let error as LeaseholdError {
            return .failure(error)
        } catch {
            return .failure(LeaseholdError(.storeUnavailable, "cannot write to the SQLite store", underlying: error))
        }
    }

    private static func apply(_ operation: StoreOperation, in db: Database) throws {
        switch operation {
        case .put(let key, let value, .none):
            try db.cachedStatement(
                sql: """
                    INSERT INTO entries (namespace, key, value, version) VALUES (?, ?, ?, 1)
                    ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = entries.version + 1
                    """
            ).execute(arguments: [key.namespace.rawValue, key.key, value])
        case .put(let key, let value, .absent):
            try db.cachedStatement(
                sql: """
                    INSERT INTO entries (namespace, key, value, version) VALUES (?, ?, ?, 1)
                    ON CONFLICT (namespace, key) DO NOTHING
                    """
            ).execute(arguments: [key.namespace.rawValue, key.key, value])
            try requireOneChange(db, key)
        case .put(let key, let value, .version(let version)):
            try db.cachedStatement(
                sql: """
                    UPDATE entries SET value = ?, version = version + 1
                    WHERE namespace = ? AND key = ? AND version = ?
                    """
            ).execute(arguments: [value, key.namespace.rawValue, key.key, version])
            try requireOneChange(db, key)
        case .delete(let key, .none):
            try db.cachedStatement(
                sql: "DELETE FROM entries WHERE namespace = ? AND key = ?"
            ).execute(arguments: [key.namespace.rawValue, key.key])
        case .delete(let key, .absent), .check(let key, .absent):
            if try version(of: key, in: db) != nil { throw conflict(key) }
        case .check(_, .none):
            return
        case .check(let key, .version(let version)):
            if try self.version(of: key, in: db) != version { throw conflict(key) }
        case .delete(let key, .version(let version)):
            try db.cachedStatement(
                sql: "DELETE FROM entries WHERE namespace = ? AND key = ? AND version = ?"
            ).execute(arguments: [key.namespace.rawValue, key.key, version])
            try requireOneChange(db, key)
        }
    }

    /// The stored version of `key`, or `nil` when it is absent (the single writer keeps it until the commit).
    private static func version(of key: StoreKey, in db: Database) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT version FROM entries WHERE namespace = ? AND key = ?"),
            arguments: [key.namespace.rawValue, key.key])
    }

    private static func requireOneChange(_ db: Database, _ key: StoreKey) throws {
        if db.changesCount != 1 { throw conflict(key) }
    }

    private static func conflict(_ key: StoreKey) -> LeaseholdError {
        LeaseholdError(.conflict, "store condition failed for a key in namespace \(key.namespace)")
    }

    /// Extends the hash chain from the stored head; the single SQLite writer serializes appends.
    private static func append(_ events: [AuditEvent], in db: Database) throws {
        guard let headRow = try Row.fetchOne(db.cachedStatement(sql: "SELECT sequence, hash FROM audit_head WHERE id = 1")) else {
            throw LeaseholdError(.auditFailure, "the audit chain head is missing from the SQLite store")
        }
        let records = try AuditChain.link(
            events,
            after: AuditChainHead(sequence: headRow["sequence"], hash: headRow["hash"])
        )
        for record in records {
            let columns = try AuditRecordColumns(record)
            try db.cachedStatement(
                sql: """
                    INSERT INTO audit_log (sequence, time, request_id, type, operation, path, accessor, token_hmac,
                        display_name, policies, auth_method, remote_address, outcome, error_class, environment, details,
                        previous_hash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                columns.sequence, columns.time, columns.requestID, columns.type, columns.operation, columns.path,
                columns.accessor, columns.tokenHMAC, columns.displayName, columns.policies, columns.authMethod,
                columns.remoteAddress, columns.outcome, columns.errorClass, columns.environment, columns.details,
                columns.previousHash, columns.hash,
            ])
        }
        if let last = records.last {
            try db.cachedStatement(
                sql: "UPDATE audit_head SET sequence = ?, hash = ? WHERE id = 1"
            ).execute(arguments: [last.sequence, last.hash])
        }
    }
}
