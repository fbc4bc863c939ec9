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
            (key, JSONValue.string(AuditSinkSettings.displayedValue(of: key, value)))
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
}
