import LeaseholdCore

/// What an auth method checks before one of its tokens is renewed, as Vault's do: the role, user or certificate
/// entry the token logged in with still exists and grants the same policies, and a certificate token's
/// certificate is still accepted (validity, CRLs). Otherwise a token outlives the removal of what granted it, up
/// to its maximum TTL.
enum LoginRenewal {
    /// The token settings of any stored role, user or certificate entry (each keeps them under `token`).
    private struct StoredSettings: Decodable, Sendable {
        let token: TokenSettings
    }

    /// Throws unless `token` (a login token; other tokens pass) may be renewed now.
    static func check(_ token: TokenEntry, context: OperationContext) async throws {
        guard let source = token.loginSource else { return }
        guard let stored = try await context.services.store.read(StoredSettings.self, at: source.key)?.value else {
            throw LeaseholdError.invalidRequest("the role, user or certificate entry of this login no longer exists; not renewing")
        }
        // Compared without `default`, as Vault's EquivalentPolicies does: toggling it alone does not stop renewals.
        let granted = Set(stored.token.policies.map { $0.lowercased() })
        guard granted.subtracting(["default"]) == Set(token.policies).subtracting(["default"]) else {
            throw LeaseholdError.invalidRequest("policies have changed, not renewing")
        }
        if token.authMethod == "cert" {
            guard let certificate = await context.request.clientCertificate.der(),
                try await CertBackend.match(
                    certificate, mountPath: source.mountPath, name: source.name, services: context.services, now: context.now) != nil
            else { throw LeaseholdError(.permissionDenied, "the client certificate is no longer accepted; not renewing") }
        }
    }
}
