import Foundation
import LeaseholdCore
import LeaseholdSeal

/// An AppRole role.
struct AppRole: Codable, Sendable {
    var name: String
    var roleID: String
    var bindSecretID: Bool
    var secretIDNumUses: Int
    var secretIDTTL: Int64
    var secretIDBoundCIDRs: [String]
    var token: TokenSettings

    var json: [String: JSONValue] {
        var fields = token.json
        fields["bind_secret_id"] = .bool(bindSecretID)
        fields["secret_id_num_uses"] = .int(secretIDNumUses)
        fields["secret_id_ttl"] = .int(Int(secretIDTTL))
        fields["secret_id_bound_cidrs"] = .strings(secretIDBoundCIDRs)
        fields["local_secret_ids"] = false
        return fields
    }
}

/// A secret id as stored: never the secret itself, which is only the key's keyed hash.
struct AppRoleSecretID: Codable, Sendable {
    var accessor: String
    var metadata: [String: String]
    var cidrs: [String]
    /// CIDR blocks the tokens of its logins are bound to, inside the role's `token_bound_cidrs` (`nil` in entries
    /// written before they existed: the role's blocks apply).
    var tokenBoundCIDRs: [String]?
    var creationTime: Date
    var expirationTime: Date?
    var remainingUses: Int

    func lookupData(ttl: Int64) -> [String: JSONValue] {
        let formatter = ISO8601DateFormatter()
        return [
            "secret_id_accessor": .string(accessor), "metadata": .object(metadata.mapValues(JSONValue.string)),
            "cidr_list": .strings(cidrs), "token_bound_cidrs": .strings(tokenBoundCIDRs ?? []),
            "creation_time": .string(formatter.string(from: creationTime)),
            "expiration_time": .string(expirationTime.map { formatter.string(from: $0) } ?? "0001-01-01T00:00:00Z"),
            "last_updated_time": .string(formatter.string(from: creationTime)),
            "secret_id_num_uses": .int(remainingUses), "secret_id_ttl": .int(Int(ttl)),
        ]
    }
}

/// The AppRole auth method (`auth/<mount>/…`): roles, role ids, secret ids, and `login`.
///
/// Secret ids and role ids are stored only as keyed hashes. A failed login answers
/// `invalid role or secret ID` whether the role or the secret was wrong, after the same store reads.
enum AppRoleBackend {
    static let routes: [Route] = [
        Route("role", handlers: [.list: listRoles]),
        Route("role/:role", handlers: [.read: readRole, .update: writeRole, .delete: deleteRole]),
        Route("role/:role/role-id", handlers: [.read: readRoleID, .update: writeRoleID]),
        Route("role/:role/secret-id", handlers: [.update: { try await generateSecretID($0, custom: nil) }, .list: listSecretIDs]),
        Route("role/:role/custom-secret-id", handlers: [.update: { try await generateSecretID($0, custom: try $0.data.requiredString("secret_id")) }]),
        Route("role/:role/secret-id/lookup", handlers: [.update: lookupSecretID]),
        Route("role/:role/secret-id/destroy", handlers: [.update: destroySecretID, .delete: destroySecretID]),
        Route("role/:role/secret-id-accessor/lookup", handlers: [.update: lookupSecretIDAccessor]),
        Route("role/:role/secret-id-accessor/destroy", handlers: [.update: destroySecretIDAccessor, .delete: destroySecretIDAccessor]),
        Route("login", authentication: .none, handlers: [.update: login]),
    ]

    static let invalidLogin = LeaseholdError.invalidRequest("invalid role or secret ID")

    // MARK: Keys

    static func roleName(_ context: OperationContext) throws -> String { try context.name("role", allowing: "-_.@") }

    static func roleKey(_ context: OperationContext, _ name: String) throws -> StoreKey {
        StoreKey(.appRoles, try context.requireMount().path + name)
    }

    static func roleIDKey(_ context: OperationContext, _ roleID: String) throws -> StoreKey {
        StoreKey(.appRoleIDs, try context.requireMount().path + context.services.keys.tokenHasher.hash("approle-role-id:" + roleID))
    }

    static func secretKey(_ context: OperationContext, role: String, secret: String) throws -> StoreKey {
        StoreKey(.appRoleSecretIDs, try context.requireMount().path + role + "/" + context.services.keys.tokenHasher.hash("approle-secret-id:" + secret))
    }

    static func accessorKey(_ context: OperationContext, role: String, accessor: String) throws -> StoreKey {
        StoreKey(.appRoleSecretAccessors, try context.requireMount().path + role + "/" + accessor)
    }

    static func role(_ context: OperationContext) async throws -> Versioned<AppRole> {
        guard let role = try await context.services.store.read(AppRole.self, at: try roleKey(context, try roleName(context))) else {
            throw LeaseholdError.invalidRequest("role \(try roleName(context)) does not exist")
        }
        return role
    }

    // MARK: Roles

    static func listRoles(_ context: OperationContext) async throws -> LogicalResponse {
        try await context.listMountKeys(in: .appRoles)
    }

    static func readRole(_ context: OperationContext) async throws -> LogicalResponse {
        let value = try await context.existing(AppRole.self, at: try roleKey(context, try roleName(context)))
        return LogicalResponse(data: value.json)
    }

    static func writeRole(_ context: OperationContext) async throws -> LogicalResponse {
        let name = try roleName(context)
        let key = try roleKey(context, name)
        let existing = try await context.services.store.read(AppRole.self, at: key)
        let data = context.data
        var role = existing?.value ?? AppRole(
            name: name, roleID: SecureRandom.uuid(), bindSecretID: true, secretIDNumUses: 0, secretIDTTL: 0,
            secretIDBoundCIDRs: [], token: TokenSettings())
        role.token = try TokenSettings(parsing: data, over: existing?.value.token)
        if let value = try data.bool("bind_secret_id") { role.bindSecretID = value }
        if let value = try data.int("secret_id_num_uses") {
            guard value >= 0 else { throw LeaseholdError.invalidRequest("secret_id_num_uses cannot be negative") }
            role.secretIDNumUses = value
        }
        if let value = try data.ttl("secret_id_ttl") { role.secretIDTTL = value.seconds }
        if let value = try data.upgraded("secret_id_bound_cidrs", aliases: "bound_cidr_list", read: data.stringList) {
            try CIDRBlock.validate(value)
            role.secretIDBoundCIDRs = value
        }
        guard role.bindSecretID || !role.secretIDBoundCIDRs.isEmpty || !role.token.boundCIDRs.isEmpty else {
            throw LeaseholdError.invalidRequest("at least one constraint should be enabled on the role")
        }
        try context.transaction.put(role, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        if existing == nil {
            try context.transaction.put(name, at: try roleIDKey(context, role.roleID), condition: .absent)
        }
        return .noContent
    }

    static func deleteRole(_ context: OperationContext) async throws -> LogicalResponse {
        let name = try roleName(context)
        guard let role = try await context.services.store.read(AppRole.self, at: try roleKey(context, name)) else { return .noContent }
        context.transaction.delete(try roleKey(context, name))
        context.transaction.delete(try roleIDKey(context, role.value.roleID))
        let mountPath = try context.requireMount().path
        for key in try await context.services.store.base.allKeys(in: .appRoleSecretIDs, prefix: mountPath + name + "/") {
            context.transaction.delete(StoreKey(.appRoleSecretIDs, key))
        }
        for key in try await context.services.store.base.allKeys(in: .appRoleSecretAccessors, prefix: mountPath + name + "/") {
            context.transaction.delete(StoreKey(.appRoleSecretAccessors, key))
        }
        return .noContent
    }

    static func readRoleID(_ context: OperationContext) async throws -> LogicalResponse {
        LogicalResponse(data: ["role_id": .string(try await role(context).value.roleID)])
    }

    static func writeRoleID(_ context: OperationContext) async throws -> LogicalResponse {
        let stored = try await role(context)
        let roleID = try context.data.requiredString("role_id")
        guard roleID.count <= 256 else { throw LeaseholdError.invalidRequest("role_id is too long") }
        var updated = stored.value
        context.transaction.delete(try roleIDKey(context, updated.roleID))
        updated.roleID = roleID
        try context.transaction.put(updated, at: try roleKey(context, updated.name), condition: .version(stored.version))
        try context.transaction.put(updated.name, at: try roleIDKey(context, roleID), condition: .absent)
        return .noContent
    }

    // MARK: Secret ids

    static func generateSecretID(_ context: OperationContext, custom: String?) async throws -> LogicalResponse {
        let role = try await role(context).value
        let secret = custom ?? SecureRandom.uuid()
        guard (8...256).contains(secret.count) else { throw LeaseholdError.invalidRequest("secret_id must be 8 to 256 characters") }
        var metadata: [String: String] = [:]
        if let text = try context.data.string("metadata"), !text.isEmpty {
            guard let decoded = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
                throw LeaseholdError.invalidRequest("metadata must be a JSON object of strings")
            }
            metadata = decoded
        }
        let cidrs = try context.data.stringList("cidr_list") ?? []
        let tokenCIDRs = try context.data.stringList("token_bound_cidrs") ?? []
        try CIDRBlock.validate(cidrs + tokenCIDRs)
        guard CIDRBlock.areWithin(cidrs, role.secretIDBoundCIDRs) else {
            throw LeaseholdError.invalidRequest("cidr_list must lie within the role's secret_id_bound_cidrs")
        }
        guard CIDRBlock.areWithin(tokenCIDRs, role.token.boundCIDRs) else {
            throw LeaseholdError.invalidRequest("token_bound_cidrs must lie within the role's token_bound_cidrs")
        }
        // A request may narrow the role's limits, never widen them (0 means unlimited), as in Vault.
        let ttl = try context.data.ttl("ttl")?.seconds ?? role.secretIDTTL
        if role.secretIDTTL > 0, ttl == 0 || ttl > role.secretIDTTL {
            throw LeaseholdError.invalidRequest("ttl cannot be longer than the role's secret_id_ttl")
        }
        let uses = try context.data.int("num_uses") ?? role.secretIDNumUses
        guard uses >= 0 else { throw LeaseholdError.invalidRequest("num_uses cannot be negative") }
        if role.secretIDNumUses > 0, uses == 0 || uses > role.secretIDNumUses {
            throw LeaseholdError.invalidRequest("num_uses cannot be higher than the role's secret_id_num_uses")
        }
        let entry = AppRoleSecretID(
            accessor: SecureRandom.uuid(), metadata: metadata, cidrs: cidrs, tokenBoundCIDRs: tokenCIDRs,
            creationTime: context.now,
            expirationTime: ttl > 0 ? context.now.addingTimeInterval(TimeInterval(ttl)) : nil, remainingUses: uses)
        let key = try secretKey(context, role: role.name, secret: secret)
        try context.transaction.put(entry, at: key, condition: .absent)
        try context.transaction.put(key.key, at: try accessorKey(context, role: role.name, accessor: entry.accessor), condition: .absent)
        context.transaction.annotate("secret_id_accessor", entry.accessor)
        return LogicalResponse(data: [
            "secret_id": .string(secret), "secret_id_accessor": .string(entry.accessor),
            "secret_id_num_uses": .int(uses), "secret_id_ttl": .int(Int(ttl)),
        ])
    }

    static func listSecretIDs(_ context: OperationContext) async throws -> LogicalResponse {
        let prefix = try context.requireMount().path + (try roleName(context)) + "/"
        let accessors = try await context.services.store.base.allKeys(in: .appRoleSecretAccessors, prefix: prefix).map { String($0.dropFirst(prefix.count)) }
        guard !accessors.isEmpty else { throw LeaseholdError.notFound }
        return LogicalResponse(data: ["keys": .strings(accessors)])
    }

    static func secretEntry(_ context: OperationContext, key: StoreKey) async throws -> Versioned<AppRoleSecretID>? {
        guard let entry = try await context.services.store.read(AppRoleSecretID.self, at: key) else { return nil }
        if let expiration = entry.value.expirationTime, expiration <= context.now { return nil }
        return entry
    }

    static func remainingTTL(_ entry: AppRoleSecretID, now: Date) -> Int64 {
        entry.expirationTime.map { max(0, Int64($0.timeIntervalSince(now))) } ?? 0
    }

    static func lookupSecretID(_ context: OperationContext) async throws -> LogicalResponse {
        let role = try await role(context).value
        let key = try secretKey(context, role: role.name, secret: try context.data.requiredString("secret_id"))
        guard let entry = try await secretEntry(context, key: key) else { throw LeaseholdError.notFound }
        return LogicalResponse(data: entry.value.lookupData(ttl: remainingTTL(entry.value, now: context.now)))
    }

    static func destroySecretID(_ context: OperationContext) async throws -> LogicalResponse {
        let role = try await role(context).value
        let key = try secretKey(context, role: role.name, secret: try context.data.requiredString("secret_id"))
        if let entry = try await context.services.store.read(AppRoleSecretID.self, at: key) {
            context.transaction.delete(key)
            context.transaction.delete(try accessorKey(context, role: role.name, accessor: entry.value.accessor))
        }
        return .noContent
    }

    /// The secret id behind an accessor, checked to belong to the role in the path (no cross-role access).
    static func entry(byAccessor context: OperationContext) async throws -> (StoreKey, StoreKey, Versioned<AppRoleSecretID>)? {
        let role = try await role(context).value
        let accessor = try context.data.requiredString("secret_id_accessor")
        let index = try accessorKey(context, role: role.name, accessor: accessor)
        guard let hashKey = try await context.services.store.read(String.self, at: index)?.value else { return nil }
        let key = StoreKey(.appRoleSecretIDs, hashKey)
        guard key.key.hasPrefix(try context.requireMount().path + role.name + "/"),
            let entry = try await context.services.store.read(AppRoleSecretID.self, at: key)
        else { return nil }
        return (index, key, entry)
    }

    static func lookupSecretIDAccessor(_ context: OperationContext) async throws -> LogicalResponse {
        guard let (_, _, entry) = try await entry(byAccessor: context) else { throw LeaseholdError.notFound }
        return LogicalResponse(data: entry.value.lookupData(ttl: remainingTTL(entry.value, now: context.now)))
    }

    static func destroySecretIDAccessor(_ context: OperationContext) async throws -> LogicalResponse {
        guard let (index, key, _) = try await entry(byAccessor: context) else {
            throw LeaseholdError.invalidRequest("failed to find accessor entry for secret_id_accessor")
        }
        context.transaction.delete(index)
        context.transaction.delete(key)
        return .noContent
    }

    // MARK: Login

    static func login(_ context: OperationContext) async throws -> LogicalResponse {
        let roleID = try context.data.string("role_id") ?? ""
        let secret = try context.data.string("secret_id") ?? ""
        let mountPath = try context.requireMount().path
        let throttleKey = "\(mountPath)|\(context.services.keys.tokenHasher.hash("approle-role-id:" + roleID))|\(LoginThrottle.client(context))"
        do {
            return try await context.services.loginThrottle.guarding(throttleKey, now: context.now) {
                try await authenticate(context, roleID: roleID, secret: secret)
            }
        } catch let error as LeaseholdError where error.code == .invalidRequest || error.code == .permissionDenied {
            throw invalidLogin
        }
    }

    /// The same reads happen whether the role exists or not, so timing does not tell which part was wrong.
    private static func authenticate(_ context: OperationContext, roleID: String, secret: String) async throws -> LogicalResponse {
        guard roleID.count <= 256, secret.count <= 256 else { throw invalidLogin }
        let name = try await context.services.store.read(String.self, at: try roleIDKey(context, roleID))?.value
        let role = try await context.services.store.read(AppRole.self, at: try roleKey(context, name ?? "\u{0}missing"))?.value
        let secretKey = try secretKey(context, role: name ?? "\u{0}missing", secret: secret)
        let secretEntry = try await secretEntry(context, key: secretKey)
        guard let role, ConstantTime.equals(role.roleID, roleID) else { throw invalidLogin }
        context.transaction.annotate("login_role", role.name)
        var metadata = ["role_name": role.name]
        var token = role.token
        if role.bindSecretID {
            guard let secretEntry else { throw invalidLogin }
            guard CIDRBlock.allows(secretEntry.value.cidrs, context.request.remoteAddress) else { throw invalidLogin }
            if secretEntry.value.remainingUses > 0 {
                if secretEntry.value.remainingUses == 1 {
                    context.transaction.delete(secretKey, condition: .version(secretEntry.version))
                    context.transaction.delete(try accessorKey(context, role: role.name, accessor: secretEntry.value.accessor))
                } else {
                    var used = secretEntry.value
                    used.remainingUses -= 1
                    try context.transaction.put(used, at: secretKey, condition: .version(secretEntry.version))
                }
            }
            metadata.merge(secretEntry.value.metadata) { current, _ in current }
            context.transaction.annotate("secret_id_accessor", secretEntry.value.accessor)
            if let blocks = secretEntry.value.tokenBoundCIDRs, !blocks.isEmpty {
                // The role may have been narrowed since the secret id was made: its blocks must still lie inside.
                guard CIDRBlock.areWithin(blocks, role.token.boundCIDRs) else { throw invalidLogin }
                token.boundCIDRs = blocks
            }
        }
        guard CIDRBlock.allows(role.secretIDBoundCIDRs, context.request.remoteAddress) else { throw invalidLogin }
        return try LoginIssuer.issue(
            token, source: try roleKey(context, role.name), displayName: role.name, metadata: metadata, context: context)
    }
}
