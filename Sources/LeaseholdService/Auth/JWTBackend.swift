import Foundation
import LeaseholdAuth
import LeaseholdCore

/// The JWT auth method (`auth/<mount>/…`, mount type `jwt` or `oidc`): `config`, `role/:name`, and `login` with a
/// signed JWT. Only the non-interactive `jwt` role type exists; the OIDC browser flow is not offered.
///
/// A login parses the token within fixed bounds, refuses algorithms outside `jwt_supported_algs` (never `none` or
/// `HS*`), verifies the signature with a configured or published key of the algorithm's family, then checks the
/// claims. Every refusal after parsing reads `error validating token: token is not valid`, except Vault's own
/// `audience claim found in JWT but no audiences bound to the role` (only for correctly signed tokens).
enum JWTBackend {
    static let routes: [Route] = [
        Route("config", handlers: [.read: readConfig, .update: writeConfig]),
    ] + AuthRoleRoutes<JWTRole>.routes(in: .jwtRoles) + [
        Route("login", authentication: .none, handlers: [.update: login]),
    ]

    /// The longest user-claim value accepted as an identity.
    static let maximumIdentityLength = 256

    static func configKey(_ context: OperationContext) throws -> StoreKey {
        StoreKey(.jwtConfigs, try context.requireMount().path)
    }

    static func config(_ context: OperationContext) async throws -> JWTAuthConfig? {
        try await context.services.store.read(JWTAuthConfig.self, at: try configKey(context))?.value
    }

    // MARK: Config

    static func readConfig(_ context: OperationContext) async throws -> LogicalResponse {
        guard let config = try await config(context) else { throw LeaseholdError.notFound }
        return LogicalResponse(data: config.json)
    }

    static func writeConfig(_ context: OperationContext) async throws -> LogicalResponse {
        let key = try configKey(context)
        let existing = try await context.services.store.read(JWTAuthConfig.self, at: key)
        let config = try await JWTAuthConfig(parsing: context.data, cache: context.services.jwksCache, now: context.now)
        try context.transaction.put(config, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        return .noContent
    }

    // MARK: Login

    static func login(_ context: OperationContext) async throws -> LogicalResponse {
        guard let config = try await config(context) else { throw LeaseholdError.invalidRequest("could not load configuration") }
        let roleName = (try context.data.string("role")).flatMap { $0.isEmpty ? nil : $0 } ?? config.defaultRole
        guard !roleName.isEmpty else { throw LeaseholdError.invalidRequest("missing role") }
        let jwt = SecretValue(try context.data.string("jwt") ?? "")
        guard !jwt.revealed.isEmpty else { throw LeaseholdError.invalidRequest("missing token") }
        return try await IdentityLogin.throttled(context, role: roleName, refusal: refusal) {
            let role = try await role(named: roleName, context)
            let claims = try await verifiedClaims(jwt, config: config, role: role, context: context)
            let identity = try identity(from: claims, role: role)
            var metadata = mappedMetadata(from: claims, role: role)
            metadata["role"] = roleName.lowercased()
            return try LoginIssuer.issue(
                role.token, source: try AuthRoleRoutes<JWTRole>.key(context, roleName, in: .jwtRoles), displayName: identity,
                metadata: metadata, context: context)
        }
    }

    static func refusal(_ error: JWTValidationError) -> LeaseholdError {
        error == .audienceWithoutBinding
            ? LeaseholdError.invalidRequest(error.description)
            : LeaseholdError.invalidRequest("error validating token: \(error)")
    }

    static func role(named name: String, _ context: OperationContext) async throws -> JWTRole {
        guard let role = try await AuthRoleRoutes<JWTRole>.existing(named: name, in: .jwtRoles, context) else {
            throw LeaseholdError.invalidRequest(
                AuthRoleRoutes<JWTRole>.isValidName(name) ? "role \"\(name)\" could not be found" : "role could not be found")
        }
        // Only a name that is a role reaches the audit row: whatever else was sent in `role` (a pasted token)
        // must not.
        context.transaction.annotate("login_role", name.lowercased())
        return role
    }

    /// Parses and verifies `jwt`, and checks its claims against `role`.
    static func verifiedClaims(
        _ jwt: SecretValue, config: JWTAuthConfig, role: JWTRole, context: OperationContext
    ) async throws(JWTValidationError) -> JWTClaimSet {
        let token = try CompactJWT(jwt.revealed, allowed: config.supportedAlgorithms)
        let keys = try await config.candidateKeys(for: token, cache: context.services.jwksCache, now: context.now)
        let claims = try await VerificationKey.claims(of: token, verifiedByOneOf: keys)
        try role.expectations(under: config).check(claims, now: context.now.timeIntervalSince1970)
        return claims
    }

    /// The user claim (the identity leases are counted by); a configured groups claim must be a list of strings.
    static func identity(from claims: JWTClaimSet, role: JWTRole) throws(JWTValidationError) -> String {
        guard let user = claims.string(role.userClaim), !user.isEmpty, user.count <= maximumIdentityLength else {
            throw .missingIdentityClaim
        }
        if !role.groupsClaim.isEmpty {
            switch claims.value(at: role.groupsClaim) {
            case .string?: break
            case .array(let groups)? where groups.allSatisfy({ $0.stringValue != nil }): break
            default: throw .missingIdentityClaim
            }
        }
        return user
    }

    /// Token metadata from `claim_mappings`: scalar claims as text; absent or structured claims are left out.
    static func mappedMetadata(from claims: JWTClaimSet, role: JWTRole) -> [String: String] {
        var metadata: [String: String] = [:]
        for (claim, target) in role.claimMappings {
            if let text = claims.scalarText(at: claim) { metadata[target] = String(text.prefix(1024)) }
        }
        return metadata
    }
}
