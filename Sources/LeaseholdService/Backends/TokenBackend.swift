import Foundation
import LeaseholdAuth
import LeaseholdCore
import LeaseholdPolicy
import LeaseholdSeal

/// The token auth method, `auth/token/*`.
enum TokenBackend {
    static let routes: [Route] = [
        Route("auth/token/create", handlers: [.update: { try await create($0, orphanEndpoint: false, roleName: nil) }]),
        Route("auth/token/create-orphan", handlers: [.update: { try await create($0, orphanEndpoint: true, roleName: nil) }]),
        Route("auth/token/create/:role", handlers: [.update: { try await create($0, orphanEndpoint: false, roleName: $0.parameter("role")) }]),
        Route("auth/token/lookup-self", handlers: [.read: lookupSelf, .update: lookupSelf]),
        Route("auth/token/lookup", handlers: [.update: lookup, .read: lookup]),
        Route("auth/token/lookup-accessor", handlers: [.update: lookupAccessor]),
        Route("auth/token/renew-self", handlers: [.update: renewSelf]),
        Route("auth/token/renew", handlers: [.update: renew]),
        Route("auth/token/renew-accessor", handlers: [.update: renewAccessor]),
        Route("auth/token/revoke-self", handlers: [.update: revokeSelf]),
        Route("auth/token/revoke", handlers: [.update: revoke]),
        Route("auth/token/revoke-accessor", handlers: [.update: revokeAccessor]),
        Route("auth/token/revoke-orphan", sudo: [.update, .create], handlers: [.update: revokeOrphan]),
        Route("auth/token/accessors", sudo: [.list], handlers: [.list: listAccessors]),
        Route("auth/token/roles", handlers: [.list: listRoles]),
        Route(
            "auth/token/roles/:name", exists: roleExists,
            handlers: [.read: readRole, .update: writeRole, .delete: deleteRole]),
    ]

    // MARK: Create

    static func create(_ context: OperationContext, orphanEndpoint: Bool, roleName: String?) async throws -> LogicalResponse {
        let parent = try context.requireCaller().value
        // As in Vault: a child of a use-limited token would carry its parent's powers past the limit (and a child
        // made on the last use would outlive the revocation staged before it).
        guard parent.numUses == 0 else {
            throw LeaseholdError.invalidRequest("use-limited tokens cannot create child tokens")
        }
        let data = context.data
        let isPrivileged = context.acl.hasSudo(path: context.request.path) || parent.isRoot
        // Policy names are case-insensitive: normalized before any check, so `ROOT` or `Admin` cannot slip past one.
        let sentPolicies = try data.stringList("policies").map(Self.normalizedPolicies)
        var request = TokenRequest(policies: sentPolicies ?? parent.policies)
        request.meta = try data.stringMap("meta") ?? data.stringMap("metadata") ?? [:]
        let displayName = try data.string("display_name") ?? ""
        request.displayName = Self.sanitizedDisplayName(displayName)
        request.ttl = try data.upgraded("ttl", aliases: "lease", read: data.ttl) ?? .zero
        request.explicitMaxTTL = try data.ttl("explicit_max_ttl") ?? .zero
        request.period = try data.ttl("period") ?? .zero
        if !request.period.isZero, !isPrivileged {
            // A periodic token has no maximum life: as in Vault, only root or sudo may ask for one directly.
            throw LeaseholdError.invalidRequest("root or sudo privileges required to create periodic token")
        }
        request.numUses = try data.int("num_uses") ?? 0
        guard request.numUses >= 0 else { throw LeaseholdError.invalidRequest("number of uses cannot be negative") }
        request.renewable = try data.bool("renewable") ?? true
        request.noDefaultPolicy = try data.bool("no_default_policy") ?? false
        request.environment = parent.environment
        if let environment = try data.string("environment"), !environment.isEmpty, environment != parent.environment {
            // Only root or sudo may mint a token for another environment (a bootstrap and test aid); every other
            // token inherits its parent's environment and can never leave it.
            guard isPrivileged else { throw LeaseholdError.invalidRequest("root or sudo privileges required to set the environment") }
            request.environment = try DatabaseBackend.environmentName(environment)
        }
        request.path = context.request.path
        if let type = try data.string("type"), !["", "service", "default"].contains(type) {
            throw LeaseholdError.invalidRequest("only service tokens are supported; got token type \(type.prefix(16))")
        }
        if let id = try data.string("id"), !id.isEmpty {
            guard isPrivileged else { throw LeaseholdError.invalidRequest("root or sudo privileges required to specify token id") }
            request.customID = SecretValue(id)
        }
        var orphan = orphanEndpoint
        if try data.bool("no_parent") == true {
            guard isPrivileged else { throw LeaseholdError.invalidRequest("root or sudo privileges required to create orphan token") }
            orphan = true
        }
        var role: TokenRole?
        if let roleName {
            guard let stored = try await context.services.store.read(TokenRole.self, at: StoreKey(.tokenRoles, roleName))?.value else {
                throw LeaseholdError.invalidRequest("unknown role \(roleName.prefix(64))")
            }
            if sentPolicies == nil, !stored.allowedPolicies.isEmpty { request.policies = stored.allowedPolicies }
            try apply(role: stored, to: &request, orphan: &orphan)
            role = stored
        }
        // Without a role's own allow list, a child holds at most its parent's policies (root and sudo excepted).
        if role?.allowedPolicies.isEmpty != false, !parent.isRoot, !isPrivileged,
            !Set(request.policies).subtracting(["default"]).isSubset(of: Set(parent.policies))
        {
            throw LeaseholdError.invalidRequest("child policies must be subset of parent")
        }
        if request.policies.contains("root") && !parent.isRoot {
            throw LeaseholdError.invalidRequest("root tokens may not be created by non-root tokens")
        }
        if let mount = try await context.services.mounts.entry(at: "token/", auth: true)?.value {
            request.apply(tuneOf: mount)
        }
        request.parentHash = orphan ? nil : parent.hash
        // A token bound to source addresses cannot mint one that is not: its children (orphans included) keep the
        // binding, so a stolen child is no more usable from elsewhere than its parent.
        if let bound = parent.boundCIDRs, !bound.isEmpty { request.boundCIDRs = bound }
        if !orphan, let stored = context.caller, stored.version > 0 { request.parentVersion = stored.version }
        if request.policies.isEmpty && request.noDefaultPolicy {
            throw LeaseholdError.invalidRequest("token must have at least one policy")
        }
        let (token, entry) = try context.services.tokens.create(request, now: context.now, in: context.transaction)
        context.transaction.annotate("created_token_accessor", entry.accessor)
        return LogicalResponse(auth: authBlock(token: token, entry: entry, now: context.now))
    }

    /// Applies a token role to a request whose policies are those sent, or (none sent) the role's allowed policies if
    /// it has some, else the parent's. A role that disallows `default` keeps it off the token, as in Vault.
    private static func apply(role: TokenRole, to request: inout TokenRequest, orphan: inout Bool) throws {
        let requested = Set(request.policies).subtracting(["default"])
        if !role.allowedPolicies.isEmpty, !requested.isSubset(of: Set(role.allowedPolicies)) {
            throw LeaseholdError.invalidRequest("token policies (\(requested.sorted())) must be subset of the role's allowed policies")
        }
        if !requested.isDisjoint(with: role.disallowedPolicies) {
            throw LeaseholdError.invalidRequest("token policies include disallowed policies")
        }
        if role.allowedPolicies.isEmpty == false && requested.isEmpty {
            request.policies = role.allowedPolicies
        }
        request.role = role.name
        orphan = orphan || role.orphan
        request.renewable = request.renewable && role.renewable
        if role.tokenPeriod > 0 {
            // A caller (root or sudo, as for any requested period) may narrow the role's period, never widen it:
            // Vault uses the lesser of the two.
            let rolePeriod = TTL(seconds: role.tokenPeriod)
            request.period = request.period.isZero ? rolePeriod : min(request.period, rolePeriod)
        }
        if role.tokenExplicitMaxTTL > 0 {
            request.explicitMaxTTL = request.explicitMaxTTL.isZero
                ? TTL(seconds: role.tokenExplicitMaxTTL) : min(request.explicitMaxTTL, TTL(seconds: role.tokenExplicitMaxTTL))
        }
        if request.ttl.isZero, role.tokenTTL > 0 { request.ttl = TTL(seconds: role.tokenTTL) }
        if role.tokenNumUses > 0 { request.numUses = request.numUses == 0 ? role.tokenNumUses : min(request.numUses, role.tokenNumUses) }
        request.noDefaultPolicy = request.noDefaultPolicy || role.tokenNoDefaultPolicy || role.disallowedPolicies.contains("default")
        request.path = "auth/token/create/\(role.name)" + (role.pathSuffix.isEmpty ? "" : "/\(role.pathSuffix)")
    }

    /// Policy names as stored: trimmed, lowercased, without empties and duplicates (first occurrence kept).
    static func normalizedPolicies(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.map { $0.trimmingWhitespace().lowercased() }.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// `token-` plus the display name reduced to a safe alphabet, as Vault does.
    static func sanitizedDisplayName(_ raw: String) -> String {
        let cleaned = raw.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") ? $0 : "-" }
        let trimmed = String(cleaned.prefix(64))
        return trimmed.isEmpty ? "token" : "token-" + trimmed
    }

    static func authBlock(token: SecretValue, entry: TokenEntry, now: Date) -> AuthBlock {
        AuthBlock(
            clientToken: token, accessor: entry.accessor, policies: entry.policies, metadata: entry.meta,
            leaseDuration: entry.remainingSeconds(at: now), renewable: entry.renewable && entry.expireTime != nil,
            orphan: entry.isOrphan, numUses: entry.numUses)
    }

    // MARK: Lookup

    static func lookupSelf(_ context: OperationContext) async throws -> LogicalResponse {
        let caller = try context.requireCaller().value
        return LogicalResponse(data: caller.lookupData(id: context.request.clientToken?.revealed ?? "", now: context.now))
    }

    static func lookup(_ context: OperationContext) async throws -> LogicalResponse {
        guard let tokenText = try context.data.string("token"), !tokenText.isEmpty else {
            return try await lookupSelf(context)
        }
        guard let entry = try await context.services.tokens.lookup(token: SecretValue(tokenText), now: context.now) else {
            throw LeaseholdError.invalidRequest("bad token")
        }
        return LogicalResponse(data: entry.value.lookupData(id: tokenText, now: context.now))
    }

    static func lookupAccessor(_ context: OperationContext) async throws -> LogicalResponse {
        let entry = try await entry(byAccessor: context)
        return LogicalResponse(data: entry.value.lookupData(id: "", now: context.now))
    }

    /// The token an accessor names, if the caller may act on it: an accessor is not the token, so it reaches only
    /// tokens of the caller's own environment (root excepted), and one of another environment looks unknown.
    private static func entry(byAccessor context: OperationContext) async throws -> Versioned<TokenEntry> {
        let accessor = try context.data.requiredString("accessor")
        let caller = try context.requireCaller().value
        guard let entry = try await context.services.tokens.lookup(accessor: accessor, now: context.now),
            caller.isRoot || entry.value.environment == caller.environment
        else {
            throw LeaseholdError.invalidRequest("invalid accessor")
        }
        return entry
    }

    private static func entry(byToken context: OperationContext) async throws -> Versioned<TokenEntry> {
        let text = try context.data.requiredString("token")
        guard let entry = try await context.services.tokens.lookup(token: SecretValue(text), now: context.now) else {
            throw LeaseholdError.invalidRequest("token not found")
        }
        return entry
    }

    // MARK: Renew

    static func renewSelf(_ context: OperationContext) async throws -> LogicalResponse {
        try await renew(try context.requireCaller(), token: context.request.clientToken, context: context)
    }

    static func renew(_ context: OperationContext) async throws -> LogicalResponse {
        let entry = try await entry(byToken: context)
        return try await renew(entry, token: SecretValue(try context.data.requiredString("token")), context: context)
    }

    static func renewAccessor(_ context: OperationContext) async throws -> LogicalResponse {
        try await renew(try await entry(byAccessor: context), token: nil, context: context)
    }

    private static func renew(_ entry: Versioned<TokenEntry>, token: SecretValue?, context: OperationContext) async throws -> LogicalResponse {
        var current = entry.value
        if let bound = current.boundCertificateFingerprint {
            // A token from a cert login renews only with the very certificate it was issued to (CVE-2026-39388).
            guard let presented = await context.request.clientCertificate.der(),
                ConstantTime.equals(ClientCertificateVerifier.fingerprint(of: presented), bound)
            else { throw LeaseholdError(.permissionDenied, "renewal requires the client certificate the token was issued to") }
        }
        try await LoginRenewal.check(current, context: context)
        var condition = StoreCondition.version(entry.version)
        if current.hash == context.caller?.value.hash, current.numUses > 0 {
            // This request already staged one use of the caller, guarded by the version it read.
            guard current.numUses > 1 else { throw LeaseholdError.invalidRequest("token has no remaining uses to renew") }
            current.numUses -= 1
            condition = .none
        }
        let increment = try context.data.ttl("increment") ?? .zero
        let (renewed, warnings) = try context.services.tokens.renew(
            current, condition: condition, increment: increment, now: context.now, in: context.transaction)
        let block = authBlock(token: token ?? SecretValue(""), entry: renewed, now: context.now)
        return LogicalResponse(auth: block, warnings: warnings)
    }

    // MARK: Revoke

    static func revokeSelf(_ context: OperationContext) async throws -> LogicalResponse {
        try await context.services.tokens.revokeTree(try context.requireCaller().value, now: context.now, in: context.transaction)
        return .noContent
    }

    static func revoke(_ context: OperationContext) async throws -> LogicalResponse {
        let text = try context.data.requiredString("token")
        if let entry = try await context.services.tokens.lookup(token: SecretValue(text), now: context.now) {
            try await context.services.tokens.revokeTree(entry.value, now: context.now, in: context.transaction)
        }
        return .noContent
    }

    static func revokeAccessor(_ context: OperationContext) async throws -> LogicalResponse {
        let entry = try await entry(byAccessor: context)
        try await context.services.tokens.revokeTree(entry.value, now: context.now, in: context.transaction)
        return .noContent
    }

    static func revokeOrphan(_ context: OperationContext) async throws -> LogicalResponse {
        let text = try context.data.requiredString("token")
        guard let entry = try await context.services.tokens.lookup(token: SecretValue(text), now: context.now) else {
            throw LeaseholdError.invalidRequest("token to revoke not found")
        }
        try await context.services.tokens.revokeOrphan(entry.value, now: context.now, in: context.transaction)
        return .noContent
    }

    static func listAccessors(_ context: OperationContext) async throws -> LogicalResponse {
        let keys = try await context.services.store.base.allKeys(in: .tokenAccessors)
        guard !keys.isEmpty else { throw LeaseholdError.notFound }
        return LogicalResponse(data: ["keys": .strings(keys)])
    }

    // MARK: Roles

    static func roleExists(_ context: OperationContext) async throws -> Bool {
        try await context.services.store.base.entry(StoreKey(.tokenRoles, try roleName(context))) != nil
    }

    private static func roleName(_ context: OperationContext) throws -> String { try context.name("name") }

    static func listRoles(_ context: OperationContext) async throws -> LogicalResponse {
        let keys = try await context.services.store.base.allKeys(in: .tokenRoles)
        guard !keys.isEmpty else { throw LeaseholdError.notFound }
        return LogicalResponse(data: ["keys": .strings(keys)])
    }

    static func readRole(_ context: OperationContext) async throws -> LogicalResponse {
        let value = try await context.existing(TokenRole.self, at: StoreKey(.tokenRoles, try roleName(context)))
        return LogicalResponse(data: value.json)
    }

    static func writeRole(_ context: OperationContext) async throws -> LogicalResponse {
        let name = try roleName(context)
        let key = StoreKey(.tokenRoles, name)
        let existing = try await context.services.store.read(TokenRole.self, at: key)
        let data = context.data
        var role = existing?.value ?? TokenRole(
            name: name, allowedPolicies: [], disallowedPolicies: [], orphan: false, renewable: true, tokenPeriod: 0,
            tokenExplicitMaxTTL: 0, tokenTTL: 0, tokenNumUses: 0, tokenNoDefaultPolicy: false, pathSuffix: "")
        if let value = try data.stringList("allowed_policies") { role.allowedPolicies = normalizedPolicies(value) }
        if let value = try data.stringList("disallowed_policies") { role.disallowedPolicies = normalizedPolicies(value) }
        if let value = try data.bool("orphan") { role.orphan = value }
        if let value = try data.bool("renewable") { role.renewable = value }
        if let value = try data.upgraded("token_period", aliases: "period", read: data.ttl) { role.tokenPeriod = value.seconds }
        if let value = try data.upgraded("token_explicit_max_ttl", aliases: "explicit_max_ttl", read: data.ttl) {
            role.tokenExplicitMaxTTL = value.seconds
        }
        if let value = try data.ttl("token_ttl") { role.tokenTTL = value.seconds }
        if let value = try data.int("token_num_uses") {
            guard value >= 0 else { throw LeaseholdError.invalidRequest("token_num_uses cannot be negative") }
            role.tokenNumUses = value
        }
        if let value = try data.bool("token_no_default_policy") { role.tokenNoDefaultPolicy = value }
        if let value = try data.string("path_suffix") {
            guard value.count <= 64, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw LeaseholdError.invalidRequest("path_suffix contains invalid characters")
            }
            role.pathSuffix = value
        }
        try TokenSettings.requireServiceTokenType(data)
        // Refused rather than ignored: an operator who sets a restriction expects it to hold.
        for unsupported in ["allowed_policies_glob", "disallowed_policies_glob", "token_bound_cidrs", "bound_cidrs"] {
            if let value = try data.stringList(unsupported), !value.isEmpty {
                throw LeaseholdError.invalidRequest("\(unsupported) is not supported on token roles")
            }
        }
        try context.transaction.put(role, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        return .noContent
    }

    static func deleteRole(_ context: OperationContext) async throws -> LogicalResponse {
        context.transaction.delete(StoreKey(.tokenRoles, try roleName(context)))
        return .noContent
    }
}
