import Foundation
import LeaseholdCore
import LeaseholdSeal

/// `sys/audit`: Vault's audit device API over Leasehold's sinks (types `file`, `socket`, `syslog`, `webhook`).
///
/// Every path needs `sudo`, as in Vault. Enabling is refused unless the server configuration sets
/// `unsafe_allow_api_audit_creation` (as in OpenBao): a file device writes wherever the broker's user may, so it
/// turns an API privilege into host access. Listing and disabling are always available. Enabling stores the device and its cursor in one batch; by default the
/// cursor starts at the newest row (only new events, as in Vault), or before the oldest with `start=oldest`.
enum AuditDeviceBackend {
    static let routes: [Route] = [
        Route("sys/audit", sudo: [.read], handlers: [.read: list]),
        Route("sys/audit/*path", sudo: [.update, .create, .delete], handlers: [.update: enable, .delete: disable]),
    ]

    static func list(_ context: OperationContext) async throws -> LogicalResponse {
        var data: [String: JSONValue] = [:]
        for device in try await AuditDeviceTable(store: context.services.store).devices() { data[device.path] = device.json }
        return LogicalResponse(data: data, shape: .envelopeWithTopLevelData)
    }

    static func enable(_ context: OperationContext) async throws -> LogicalResponse {
        guard context.services.allowsAPIAuditDeviceCreation else {
            throw LeaseholdError.invalidRequest(
                "audit devices cannot be enabled through the API unless the server configuration sets unsafe_allow_api_audit_creation = true")
        }
        let path = try MountTable.normalize(try context.parameter("path"))
        let type = try context.data.requiredString("type").lowercased()
        let options = try context.data.stringMap("options") ?? [:]
        // Refused when a device is enabled, not when a stored one starts: devices enabled before keep running.
        if let hmacAccessor = options["hmac_accessor"], JSONValue.boolean(spelledBy: hmacAccessor) == true {
            throw LeaseholdError.invalidRequest("hmac_accessor is not supported: audit entries show token accessors as they are")
        }
        let settings = try AuditSinkSettings.parse(type: type, options: options)
        let description = try context.data.string("description") ?? ""
        guard description.count <= 1024 else { throw LeaseholdError.invalidRequest("description is too long") }
        let key = StoreKey(.auditDevices, path)
        if try await context.services.store.base.entry(key) != nil {
            throw LeaseholdError.invalidRequest("path already in use")
        }
        let device = AuditDevice(
            path: path, type: type, description: description, options: options,
            local: try context.data.bool("local") ?? false, id: SecureRandom.uuid())
        let start = settings.startsAtOldest ? 0 : try await context.services.store.base.auditHeadSequence()
        try context.transaction.put(device, at: key, condition: .absent)
        try context.transaction.put(AuditCursor(sequence: start), at: device.cursorKey, condition: .absent)
        context.transaction.annotate("audit_device", path)
        context.transaction.annotate("audit_device_type", type)
        context.services.auditSignal.devicesDidChange()
        return .noContent
    }

    static func disable(_ context: OperationContext) async throws -> LogicalResponse {
        let path = try MountTable.normalize(try context.parameter("path"))
        let key = StoreKey(.auditDevices, path)
        guard let device = try await context.services.store.read(AuditDevice.self, at: key) else { return .noContent }
        context.transaction.delete(key, condition: .version(device.version))
        context.transaction.delete(device.value.cursorKey)
        context.transaction.annotate("audit_device", path)
        context.services.auditSignal.devicesDidChange()
        return .noContent
    }
}
