import struct Foundation.Data
import struct Foundation.Date

/// A keyspace in the broker's store. Each namespace is an ordered map from key to versioned value.
public struct StoreNamespace: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String
    /// Creates a namespace; names are short lowercase identifiers such as `tokens`.
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// The address of one entry in the store.
public struct StoreKey: Sendable, Hashable, CustomStringConvertible {
    /// The keyspace.
    public var namespace: StoreNamespace
    /// The key inside the keyspace. Keys sort bytewise; `/` is an ordinary character.
    public var key: String

    /// Creates a key.
    public init(_ namespace: StoreNamespace, _ key: String) {
        self.namespace = namespace
        self.key = key
    }

    /// `namespace/key`, the identity used as associated data when the value is encrypted.
    public var description: String { "\(namespace.rawValue)/\(key)" }
}

/// A stored value with its version. Versions start at 1 and grow by one on each write.
public struct StoreEntry: Sendable, Hashable {
    /// The value's bytes (usually encrypted by the service layer).
    public var value: Data
    /// The version written by the last successful put.
    public var version: Int64

    /// Creates an entry.
    public init(value: Data, version: Int64) {
        self.value = value
        self.version = version
    }
}

/// A condition on the current state of a key, checked atomically with the write that carries it.
public enum StoreCondition: Sendable, Hashable {
    /// Write regardless of the current state.
    case none
    /// The key must not exist.
    case absent
    /// The key must exist with exactly this version.
    case version(Int64)
}

/// One write inside a ``StoreBatch``.
public enum StoreOperation: Sendable, Hashable {
    /// Sets the value (incrementing the version) if the condition holds.
    case put(StoreKey, Data, StoreCondition)
    /// Removes the key if the condition holds. Deleting an absent key with `.none` succeeds.
    case delete(StoreKey, StoreCondition)
    /// Writes nothing, but fails the batch unless the condition holds at commit: a write that is valid only while
    /// another key is unchanged (a lease on a connection that is not being deleted). Stores with concurrent
    /// writers lock the row until the commit, so a write to it waits for this batch and then sees its effects.
    case check(StoreKey, StoreCondition)
}

/// A set of writes and audit events that commit atomically: all of them, or none.
public struct StoreBatch: Sendable {
    /// The writes, applied in order.
    public var operations: [StoreOperation]
    /// The audit events, appended to the hash chain in order, in the same transaction.
    public var auditEvents: [AuditEvent]

    /// Creates a batch.
    public init(operations: [StoreOperation] = [], auditEvents: [AuditEvent] = []) {
        self.operations = operations
        self.auditEvents = auditEvents
    }

    /// Whether the batch writes nothing at all.
    public var isEmpty: Bool { operations.isEmpty && auditEvents.isEmpty }
}

/// The broker's own durable state: a versioned key-value store plus the hash-chained audit table.
///
/// Implementations must make every acknowledged ``commit(_:)`` durable (fsync) before returning, apply each batch
/// atomically, and may share one physical commit among concurrent batches (group commit). A batch whose
/// condition fails throws ``LeaseholdError/Code/conflict`` and changes nothing; other batches sharing its
/// physical commit are unaffected.
public protocol BrokerStore: Sendable {
    /// Reads one entry, or `nil` when absent.
    func entry(_ key: StoreKey) async throws -> StoreEntry?

    /// Lists keys of a namespace that start with `prefix`, in ascending bytewise order, at most `limit`.
    /// Complexity: O(log n + k) for k results.
    func keys(in namespace: StoreNamespace, prefix: String, after: String?, limit: Int) async throws -> [String]

    /// Counts the keys of a namespace that start with `prefix`, stopping at `limit` (a cap check needs no more).
    /// Complexity: O(log n + min(k, limit)) index steps, without reading the keys out.
    func countKeys(in namespace: StoreNamespace, prefix: String, upTo limit: Int) async throws -> Int

    /// Applies the batch atomically and durably.
    func commit(_ batch: StoreBatch) async throws

    /// Reads the audit records that match `query`, in its order, at most `limit`.
    /// Complexity: index range scans on sequence and time; other filters are evaluated per row.
    func auditRecords(matching query: AuditQuery, limit: Int) async throws -> [AuditRecord]

    /// Deletes the audit records with a sequence up to and including `sequence` (retention), leaving the rest
    /// of the chain and its head untouched.
    func deleteAuditRecords(through sequence: Int64) async throws

    /// Flushes and releases resources. The store cannot be used afterwards.
    func close() async throws
}

extension BrokerStore {
    /// The newest audit record (one indexed read), or `nil` for an empty table.
    public func newestAuditRecord() async throws -> AuditRecord? {
        var query = AuditQuery()
        query.newestFirst = true
        return try await auditRecords(matching: query, limit: 1).first
    }

    /// The sequence of the newest audit record, 0 for an empty table.
    public func auditHeadSequence() async throws -> Int64 {
        try await newestAuditRecord()?.sequence ?? 0
    }

    /// Reads audit records with a sequence number greater than `sequence`, oldest first, at most `limit`.
    public func auditRecords(after sequence: Int64, limit: Int) async throws -> [AuditRecord] {
        var query = AuditQuery()
        query.after = sequence
        return try await auditRecords(matching: query, limit: limit)
    }

    /// Lists every key of a namespace under `prefix`, paging internally.
    public func allKeys(in namespace: StoreNamespace, prefix: String = "") async throws -> [String] {
        var result: [String] = []
        var cursor: String? = nil
        while true {
            let page = try await keys(in: namespace, prefix: prefix, after: cursor, limit: 1000)
            result += page
            if page.count < 1000 { return result }
            cursor = page.last
        }
    }
}
