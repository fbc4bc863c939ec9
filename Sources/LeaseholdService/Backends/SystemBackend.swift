import Foundation
import LeaseholdCore
import LeaseholdPolicy

/// The `sys/` endpoints that need an unsealed broker: seal, rotate, mounts, auth methods, policies, capabilities.
enum SystemBackend {
    static let routes: [Route] = [
        Route("sys/seal", sudo: [.update, .create], handlers: [.update: seal]),
        Route("sys/rotate", sudo: [.update, .create], handlers: [.update: rotate]),
        Route("sys/key-status", handlers: [.read: keyStatus]),
        Route("sys/mounts", handlers: [.read: { try await listMounts($0, auth: false) }]),
        Route(
            "sys/mounts/auth/*path", sudo: [.update, .create],
            handlers: [.read: { try await readMount($0, auth: true) }, .update: { try await writeMount($0, auth: true) }]),
        Route(
            "sys/mounts/*path", exists: { try await mountExists($0, auth: false) },
            handlers: [
                .read: { try await readMount($0, auth: false) }, .update: { try await writeMount($0, auth: false) },
                .delete: { try await deleteMount($0, auth: false) },
            ]),
        Route("sys/auth", handlers: [.read: { try await listMounts($0, auth: true) }]),
        Route(
            "sys/auth/*path", sudo: [.update, .create, .delete], exists: { try await mountExists($0, auth: true) },
            handlers: [
                .read: { try await readMount($0, auth: true) }, .update: { try await writeMount($0, auth: true) },
                .delete: { try await deleteMount($0, auth: true) },
            ]),
        Route(
            "sys/internal/ui/mounts/*path", authentication: .none,
            handlers: [.read: internalUIMounts]),
        Route("sys/internal/ui/mounts", authentication: .none, handlers: [.read: internalUIMounts]),
        Route("sys/policies/acl", handlers: [.list: listPolicies]),
        Route(
            "sys/policies/acl/:name", exists: policyExists,
            handlers: [
                .read: { try await readPolicy($0, legacy: false) }, .update: { try await writePolicy($0, legacy: false) },
                .delete: deletePolicy,
            ]),
        Route("sys/policy", handlers: [.read: listLegacyPolicies, .list: listLegacyPolicies]),
        Route(
            "sys/policy/:name", exists: policyExists,
            handlers: [
                .read: { try await readPolicy($0, legacy: true) }, .update: { try await writePolicy($0, legacy: true) },
                .delete: deletePolicy,
            ]),
        Route("sys/capabilities-self", handlers: [.update: capabilitiesSelf]),
        Route("sys/capabilities", handlers: [.update: capabilities]),
        Route("sys/capabilities-accessor", handlers: [.update: capabilitiesByAccessor]),
        Route("sys/metrics", handlers: [.read: metrics]),
    ]

    // MARK: Seal and keys

    static func seal(_ context: OperationContext) async throws -> LogicalResponse {
        await context.services.seal.seal()
        BrokerMetrics.recordSealed(true)
        return .noContent
    }

    static func rotate(_ context: OperationContext) async throws -> LogicalResponse {
        let seal = context.services.seal
        let (ring, write) = try await seal.prepareRotation()
        context.transaction.stage(write)
        context.transaction.onCommit { await seal.install(ring) }
        return .noContent
    }

    static func keyStatus(_ context: OperationContext) async throws -> LogicalResponse {
        let ring = try await context.services.seal.keys().keyRing
        return LogicalResponse(
            data: [
                "term": .int(Int(ring.activeTerm)),
                "install_time": .string(ISO8601DateFormatter().string(from: ring.installTime(term: ring.activeTerm) ?? context.now)),
            ], shape: .envelopeWithTopLevelData)
    }

    // MARK: Mounts

    /// `sys/mounts` or `sys/auth`; `?environment=E` keeps only the mounts of that environment.
    static func listMounts(_ context: OperationContext, auth: Bool) async throws -> LogicalResponse {
        let environment = try context.data.string("environment").map { try DatabaseBackend.environmentName($0) }
        var data: [String: JSONValue] = [:]
        for entry in try await context.services.mounts.entries(auth: auth) where environment == nil || entry.environment == environment {
            data[entry.path] = entry.json
        }
        return LogicalResponse(data: data, shape: .envelopeWithTopLevelData)
    }

    private static func mountPath(_ context: OperationContext) throws -> (path: String, tune: Bool) {
        var raw = try context.parameter("path")
        var tune = false
        if raw.hasSuffix("/tune") || raw == "tune" {
            tune = true
            raw = String(raw.dropLast(raw == "tune" ? 4 : 5))
        }
        return (try MountTable.normalize(raw), tune)
    }

    static func mountExists(_ context: OperationContext, auth: Bool) async throws -> Bool {
        let (path, _) = try mountPath(context)
        return try await context.services.mounts.entry(at: path, auth: auth) != nil
    }

    static func readMount(_ context: OperationContext, auth: Bool) async throws -> LogicalResponse {
        let (path, tune) = try mountPath(context)
        guard let entry = try await context.services.mounts.entry(at: path, auth: auth)?.value else {
            throw LeaseholdError.invalidRequest("cannot fetch mount configuration for path \"\(path)\": not found")
        }
        if tune {
            let limits = context.services.limits
            return LogicalResponse(
                data: [
                    "description": .string(entry.description),
                    "default_lease_ttl": .int(Int(entry.defaultLeaseTTL == 0 ? limits.defaultTTL.seconds : entry.defaultLeaseTTL)),
                    "max_lease_ttl": .int(Int(entry.maxLeaseTTL == 0 ? limits.maxTTL.seconds : entry.maxLeaseTTL)),
                    "force_no_cache": false, "options": entry.options.isEmpty ? .null : .object(entry.options.mapValues(JSONValue.string)),
                    "environment": .string(entry.environment),
                    "token_type": auth ? "default-service" : .null,
                ], shape: .envelopeWithTopLevelData)
        }
        guard case .object(let members) = entry.json else { return LogicalResponse(shape: .envelopeWithTopLevelData) }
        return LogicalResponse(data: members, shape: .envelopeWithTopLevelData)
    }

    static func writeMount(_ context: OperationContext, auth: Bool) async throws -> LogicalResponse {
        let (path, tune) = try mountPath(context)
        let namespace: StoreNamespace = auth ? .authMounts : .mounts
        if tune { return try await tuneMount(context, path: path, auth: auth) }
        let type = try context.data.requiredString("type").lowercased()
        let reserved = auth ? ["token/"] : ["sys/", "auth/", "cubbyhole/", "identity/"]
        if reserved.contains(where: { path.hasPrefix($0) || $0.hasPrefix(path) }) {
            throw LeaseholdError.invalidRequest("cannot mount at \"\(path)\": path is reserved")
        }
        guard (auth ? MountTable.authTypes : MountTable.engineTypes).contains(type) else {
            throw LeaseholdError.invalidRequest("plugin not found in the catalog: \(type.prefix(64))")
        }
        let existing = try await context.services.mounts.entries(auth: auth)
        if let clash = existing.first(where: { path.hasPrefix($0.path) || $0.path.hasPrefix(path) }) {
            throw LeaseholdError.invalidRequest("path is already in use at \(clash.path)")
        }
        var entry = MountEntry.make(path: path, type: type, description: try context.data.string("description") ?? "")
        // The environment at the top level (as `bao secrets enable` sends it) or inside `config`, which wins.
        try setEnvironment(try context.data.string("environment"), on: &entry)
        if let config = try context.data.nested("config") { try apply(settings: config, to: &entry, limits: context.services.limits) }
        if let options = try context.data.stringMap("options") { entry.options = options }
        entry.local = try context.data.bool("local") ?? false
        entry.sealWrap = try context.data.bool("seal_wrap") ?? false
        try context.transaction.put(entry, at: StoreKey(namespace, path), condition: .absent)
        return .noContent
    }

    private static func tuneMount(_ context: OperationContext, path: String, auth: Bool) async throws -> LogicalResponse {
        let namespace: StoreNamespace = auth ? .authMounts : .mounts
        guard let current = try await context.services.mounts.entry(at: path, auth: auth) else {
            throw LeaseholdError.invalidRequest("cannot tune \"\(path)\": no mount at this path")
        }
        guard current.value.type != "system" else { throw LeaseholdError.invalidRequest("cannot tune \"sys/\"") }
        var entry = current.value
        try apply(settings: context.data, to: &entry, limits: context.services.limits)
        if let description = try context.data.string("description") { entry.description = description }
        if let options = try context.data.stringMap("options") { entry.options.merge(options) { _, new in new } }
        try context.transaction.put(
            entry, at: StoreKey(namespace, path), condition: current.version == 0 ? .absent : .version(current.version))
        return .noContent
    }

    /// Sets a mount's environment from a request field, if given.
    private static func setEnvironment(_ text: String?, on entry: inout MountEntry) throws {
        guard let text else { return }
        guard !text.isEmpty else { throw LeaseholdError.invalidRequest("invalid environment name") }
        entry.environment = try DatabaseBackend.environmentName(text)
    }

    /// Applies the settings a mount takes inside `config` at enable and at the top level at tune.
    private static func apply(settings config: RequestData, to entry: inout MountEntry, limits: LeaseLimits) throws {
        try setEnvironment(try config.string("environment"), on: &entry)
        // Restrictions Leasehold does not implement are refused rather than accepted and ignored.
        try TokenSettings.requireServiceTokenType(config)
        if config.contains("user_lockout_config") {
            throw LeaseholdError.invalidRequest(
                "user_lockout_config is not supported; failed logins are limited by the server's login_failure_limit and login_failure_window")
        }
        if let ttl = try config.ttl("default_lease_ttl") { entry.defaultLeaseTTL = ttl.seconds }
        if let ttl = try config.ttl("max_lease_ttl") { entry.maxLeaseTTL = ttl.seconds }
        if let visibility = try config.string("listing_visibility") {
            guard ["", "unauth", "hidden"].contains(visibility) else {
                throw LeaseholdError.invalidRequest("invalid listing_visibility \(visibility.prefix(32))")
            }
            entry.listingVisibility = visibility
        }
        guard entry.maxLeaseTTL <= limits.maxTTL.seconds else {
            throw LeaseholdError.invalidRequest("max_lease_ttl exceeds the system max_lease_ttl")
        }
        let effectiveMax = entry.maxLeaseTTL == 0 ? limits.maxTTL.seconds : entry.maxLeaseTTL
        guard entry.defaultLeaseTTL <= effectiveMax else {
            throw LeaseholdError.invalidRequest("default_lease_ttl cannot exceed max_lease_ttl")
        }
    }

    static func deleteMount(_ context: OperationContext, auth: Bool) async throws -> LogicalResponse {
        let (path, _) = try mountPath(context)
        if auth ? path == "token/" : path == "sys/" {
            throw LeaseholdError.invalidRequest("cannot unmount \"\(path)\"")
        }
        context.transaction.delete(StoreKey(auth ? .authMounts : .mounts, path))
        if auth { try await forgetAuthMount(path, context: context) }
        return .noContent
    }

    /// The store namespaces whose keys start with an auth mount's path.
    static let authMountNamespaces: [StoreNamespace] = [
        .appRoles, .appRoleIDs, .appRoleSecretIDs, .appRoleSecretAccessors, .userpassUsers, .certRoles,
        .certRevocationLists, .jwtConfigs, .jwtRoles, .kubernetesConfigs, .kubernetesRoles,
    ]

    /// As Vault does on disable: the method's roles, users and configuration are deleted (so enabling the same
    /// path again starts empty) and every token its logins issued is revoked with its children and leases.
    private static func forgetAuthMount(_ path: String, context: OperationContext) async throws {
        for namespace in authMountNamespaces {
            for key in try await context.services.store.base.allKeys(in: namespace, prefix: path) {
                context.transaction.delete(StoreKey(namespace, key))
            }
        }
        let loginPath = "auth/\(path)login"
        for hash in try await context.services.store.base.allKeys(in: .tokens) {
            guard let entry = try await context.services.store.read(TokenEntry.self, at: StoreKey(.tokens, hash))?.value,
                entry.path.hasPrefix(loginPath)
            else { continue }
            try await context.services.tokens.revokeTree(entry, now: context.now, in: context.transaction)
        }
    }

    static func internalUIMounts(_ context: OperationContext) async throws -> LogicalResponse {
        let mounts = context.services.mounts
        guard let raw = context.parameters["path"], !raw.isEmpty else {
            var secret: [String: JSONValue] = [:]
            var auth: [String: JSONValue] = [:]
            // The mounts marked `unauth`, and with a token the mounts its policies reach, as in Vault.
            let visible = { (path: String, visibility: String) in
                visibility == "unauth" || (context.caller != nil && context.acl.grantsAnything(under: path))
            }
            for entry in try await mounts.entries(auth: false) where visible(entry.path, entry.listingVisibility) {
                secret[entry.path] = entry.json
            }
            for entry in try await mounts.entries(auth: true) where visible("auth/" + entry.path, entry.listingVisibility) {
                auth[entry.path] = entry.json
            }
            return LogicalResponse(data: ["secret": .object(secret), "auth": .object(auth)])
        }
        let path = raw.hasPrefix("auth/") ? String(raw.dropFirst(5)) : raw
        let isAuth = raw.hasPrefix("auth/")
        let entry: MountEntry?
        if isAuth {
            entry = try await mounts.entries(auth: true).first { (path + "/").hasPrefix($0.path) }
        } else {
            entry = try await mounts.engine(owning: path)
        }
        guard let entry else { throw LeaseholdError.notFound }
        let fullPath = (isAuth ? "auth/" : "") + entry.path
        let capabilities = context.acl.capabilities(for: context.request.path.replacingOccurrences(of: "sys/internal/ui/mounts/", with: ""))
        guard context.caller != nil, !capabilities.isEmpty else {
            throw LeaseholdError(
                .permissionDenied,
                "preflight capability check returned 403, please ensure client's policies grant access to path \"\(fullPath)\"")
        }
        guard case .object(var members) = entry.json else { throw LeaseholdError.notFound }
        members["path"] = .string(fullPath)
        return LogicalResponse(data: members)
    }

    // MARK: Policies

    private static func policyName(_ context: OperationContext) throws -> String {
        ACLPolicy.normalizeName(try context.parameter("name"))
    }

    static func policyExists(_ context: OperationContext) async throws -> Bool {
        try await context.services.policies.policy(named: try policyName(context)) != nil
    }

    static func listPolicies(_ context: OperationContext) async throws -> LogicalResponse {
        LogicalResponse(data: ["keys": .strings(try await context.services.policies.names())])
    }

    static func listLegacyPolicies(_ context: OperationContext) async throws -> LogicalResponse {
        let names = try await context.services.policies.names()
        return LogicalResponse(data: ["keys": .strings(names), "policies": .strings(names)], shape: .envelopeWithTopLevelData)
    }

    static func readPolicy(_ context: OperationContext, legacy: Bool) async throws -> LogicalResponse {
        let name = try policyName(context)
        if name == "root" {
            return LogicalResponse(data: ["name": "root", legacy ? "rules" : "policy": ""], shape: legacy ? .envelopeWithTopLevelData : .envelope)
        }
        guard let policy = try await context.services.policies.policy(named: name) else { throw LeaseholdError.notFound }
        return LogicalResponse(
            data: ["name": .string(policy.name), legacy ? "rules" : "policy": .string(policy.text)],
            shape: legacy ? .envelopeWithTopLevelData : .envelope)
    }

    static func writePolicy(_ context: OperationContext, legacy: Bool) async throws -> LogicalResponse {
        let text = try context.data.string("policy") ?? (legacy ? context.data.string("rules") : nil)
        guard let text, !text.isEmpty else { throw LeaseholdError.invalidRequest("'policy' parameter not supplied or empty") }
        try context.services.policies.write(name: try context.parameter("name"), text: text, in: context.transaction)
        return .noContent
    }

    static func deletePolicy(_ context: OperationContext) async throws -> LogicalResponse {
        try context.services.policies.delete(name: try policyName(context), in: context.transaction)
        return .noContent
    }

    // MARK: Capabilities

    static func capabilitiesSelf(_ context: OperationContext) async throws -> LogicalResponse {
        try capabilityResponse(acl: context.acl, data: context.data)
    }

    static func capabilities(_ context: OperationContext) async throws -> LogicalResponse {
        let token = try context.data.requiredString("token")
        let acl: ACL
        if let entry = try await context.services.tokens.lookup(token: SecretValue(token), now: context.now) {
            acl = try await context.services.policies.acl(for: entry.value.policies, kind: entry.value.kind)
        } else {
            acl = ACL(policies: [])
        }
        return try capabilityResponse(acl: acl, data: context.data)
    }

    static func capabilitiesByAccessor(_ context: OperationContext) async throws -> LogicalResponse {
        let accessor = try context.data.requiredString("accessor")
        guard let entry = try await context.services.tokens.lookup(accessor: accessor, now: context.now) else {
            throw LeaseholdError.invalidRequest("invalid accessor")
        }
        let acl = try await context.services.policies.acl(for: entry.value.policies, kind: entry.value.kind)
        return try capabilityResponse(acl: acl, data: context.data)
    }

    private static func capabilityResponse(acl: ACL, data: RequestData) throws -> LogicalResponse {
        var paths = try data.stringList("paths") ?? []
        if let single = try data.string("path"), !single.isEmpty { paths.append(single) }
        guard !paths.isEmpty else { throw LeaseholdError.invalidRequest("paths must be supplied") }
        guard paths.count <= 256 else { throw LeaseholdError.invalidRequest("too many paths") }
        var result: [String: JSONValue] = [:]
        var union: Set<String> = []
        for path in paths {
            let normalized = try RequestPath.normalize(path)
            let names = acl.capabilityNames(for: normalized)
            result[path] = .strings(names)
            union.formUnion(names)
        }
        result["capabilities"] = .strings(union.sorted())
        return LogicalResponse(data: result, shape: .envelopeWithTopLevelData)
    }

    // MARK: Metrics

    static func metrics(_ context: OperationContext) async throws -> LogicalResponse {
        let format = try context.data.string("format") ?? "prometheus"
        guard format == "prometheus" else { throw LeaseholdError.invalidRequest("unsupported metrics format") }
        return LogicalResponse(shape: .metrics)
    }
}
