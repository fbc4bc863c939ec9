import Foundation
import LeaseholdCore

/// An enabled audit device (`sys/audit/<path>`): a sink that receives every committed audit row.
///
/// Stored encrypted in ``StoreNamespace/auditDevices`` by path; its delivery cursor lives in
/// ``StoreNamespace/auditCursors`` under ``id``, so a device disabled and enabled again at the same path starts afresh.
public struct AuditDevice: Sendable, Codable, Hashable {
    /// The path with a trailing slash (`file/`).
    public var path: String
    /// `file`, `socket`, `syslog` or `webhook`.
    public var type: String
    /// Free text.
    public var description: String
    /// The Vault-style options (`file_path`, `address`, `url`, …); may hold secrets (webhook headers).
    public var options: [String: String]
    /// Kept for API compatibility.
    public var local: Bool
    /// A random id naming this enablement (and its cursor).
    public var id: String

    /// The parsed destination and framing.
    public func settings() throws -> AuditSinkSettings { try AuditSinkSettings.parse(type: type, options: options) }

    /// The wire form of `sys/audit`, with secret option values replaced.
    var json: JSONValue {
        let shown = Dictionary(uniqueKeysWithValues: options.map { key, value in
            (key, JSONValue.string(AuditSinkSettings.isSecretOption(key) ? "redacted" : value))
        })
        return .object([
            "type": .string(type), "description": .string(description), "options": .object(shown),
            "local": .bool(local), "path": .string(path),
        ])
    }

    /// The store key of this device's cursor.
    var cursorKey: StoreKey { StoreKey(.auditCursors, id) }
}

/// How far one audit device has been delivered: the sequence of the last row the sink acknowledged.
struct AuditCursor: Sendable, Codable, Hashable {
    var sequence: Int64
}

/// Reads the audit device table.
struct AuditDeviceTable: Sendable {
    let store: EncryptedStore

    /// Every enabled device, by path.
    func devices() async throws -> [AuditDevice] {
        var result: [AuditDevice] = []
        for key in try await store.base.allKeys(in: .auditDevices) {
            if let device = try await store.read(AuditDevice.self, at: StoreKey(.auditDevices, key)) { result.append(device.value) }
        }
        return result
    }

    /// The sequence of the newest audit row (0 when there is none), found with O(log n) one-row reads.
    static func headSequence(of store: any BrokerStore) async throws -> Int64 {
        // Sequences have no gaps (retention may only remove a prefix), so "a row exists after s" holds exactly for
        // s below the head: grow an upper bound, then bisect.
        var low: Int64 = 0
        var high: Int64 = 1
        while try await !store.auditRecords(after: high - 1, limit: 1).isEmpty {
            low = high
            high *= 2
        }
        // Invariant: a row with sequence >= low exists (or low == 0); none with sequence >= high does.
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if try await store.auditRecords(after: middle - 1, limit: 1).isEmpty { high = middle } else { low = middle }
        }
        return low
    }
}
