import LeaseholdAuth
import LeaseholdCore

/// The Kubernetes auth method (`auth/<mount>/…`): `config`, `role/:name`, and `login` with a service-account token.
///
/// A login parses the token within fixed bounds, verifies it offline against `pem_keys` when some are configured,
/// checks issuer (unless disabled), times and the role's audience, requires the role to bind the token's service
/// account name and namespace, and — when `kubernetes_host` is set — has the API server review the token (the
/// reviewed account must be the one the token names). Every refusal after the role is found is
/// `403 permission denied`, whichever check failed.
enum KubernetesBackend {
    static let routes: [Route] = [
        Route("config", handlers: [.read: readConfig, .update: writeConfig]),
    ] + AuthRoleRoutes<KubernetesRole>.routes(in: .kubernetesRoles) + [
        Route("login", authentication: .none, handlers: [.update: login]),
    ]

    /// The algorithms Kubernetes signs service-account tokens with.
    static let algorithms: [SignatureAlgorithm] = SignatureAlgorithm.allCases.filter { $0 != .edDSA }

    static func configKey(_ context: OperationContext) throws -> StoreKey {
        StoreKey(.kubernetesConfigs, try context.requireMount().path)
    }

    // MARK: Config

    static func readConfig(_ context: OperationContext) async throws -> LogicalResponse {
        let value = try await context.existing(KubernetesAuthConfig.self, at: try configKey(context))
        return LogicalResponse(data: value.json)
    }

    static func writeConfig(_ context: OperationContext) async throws -> LogicalResponse {
        let key = try configKey(context)
        let existing = try await context.services.store.read(KubernetesAuthConfig.self, at: key)
        let config = try KubernetesAuthConfig(parsing: context.data)
        try context.transaction.put(config, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        return LogicalResponse(warnings: config.warnings)
    }

    // MARK: Login

    static func login(_ context: OperationContext) async throws -> LogicalResponse {
        guard let config = try await context.services.store.read(KubernetesAuthConfig.self, at: try configKey(context))?.value else {
            throw LeaseholdError(.internalError, "could not load backend configuration")
        }
        let roleName = try context.data.string("role") ?? ""
        guard !roleName.isEmpty else { throw LeaseholdError.invalidRequest("missing role") }
        let jwt = SecretValue(try context.data.string("jwt") ?? "")
        guard !jwt.revealed.isEmpty else { throw LeaseholdError.invalidRequest("missing jwt") }
        return try await IdentityLogin.throttled(context, role: roleName, refusal: { _ in LeaseholdError.permissionDenied }) {
            let role = try await role(named: roleName, context)
            let account = try await verifiedAccount(jwt, config: config, role: role, context: context)
            let metadata = [
                "service_account_namespace": account.namespace, "service_account_name": account.name,
                "service_account_uid": account.uid, "role": roleName.lowercased(),
            ]
            return try LoginIssuer.issue(
                role.token, source: try AuthRoleRoutes<KubernetesRole>.key(context, roleName, in: .kubernetesRoles),
                displayName: role.identity(of: account), metadata: metadata, context: context)
        }
    }

    static func role(named name: String, _ context: OperationContext) async throws -> KubernetesRole {
        guard let role = try await AuthRoleRoutes<KubernetesRole>.existing(named: name, in: .kubernetesRoles, context) else {
            throw LeaseholdError.invalidRequest(
                AuthRoleRoutes<KubernetesRole>.isValidName(name) ? "invalid role name \"\(name)\"" : "invalid role name")
        }
        // Only a name that is a role reaches the audit row: whatever else was sent in `role` (a pasted token)
        // must not.
        context.transaction.annotate("login_role", name.lowercased())
        return role
    }

    /// The service account `jwt` authenticates, once every check has passed.
    static func verifiedAccount(
        _ jwt: SecretValue, config: KubernetesAuthConfig, role: KubernetesRole, context: OperationContext
    ) async throws(JWTValidationError) -> ServiceAccountIdentity {
        let token = try CompactJWT(jwt.revealed, allowed: algorithms)
        let claims: JWTClaimSet
        if config.pemKeys.isEmpty {
            claims = try token.unverifiedClaims()
        } else {
            claims = try await VerificationKey.claims(of: token, verifiedByOneOf: config.verificationKeys)
        }
        var expectations = ClaimExpectations()
        expectations.issuer = config.expectedIssuer
        expectations.audiences = role.audience.isEmpty ? [] : [role.audience]
        expectations.refusesUnboundAudience = false
        expectations.requiresTimeClaim = false
        try expectations.check(claims, now: context.now.timeIntervalSince1970)
        let account = try ServiceAccountIdentity(claims: claims)
        guard role.binds(account) else { throw .boundClaimMismatch }
        if let reviewer = config.reviewer {
            let reviewed = try await reviewer.review(jwt, audience: role.audience, bearer: config.reviewerJWT ?? jwt)
            guard reviewed == account else { throw .badSignature }
        }
        return account
    }
}
