import Foundation
import LeaseholdCore

/// Issues the token of a successful login and shapes the response, the same way for every auth method.
enum LoginIssuer {
    /// Issues a token with `settings`, for the role, user or certificate entry stored at `source` (within the
    /// request's mount), which renewal checks again (``LoginRenewal``).
    static func issue(
        _ settings: TokenSettings, source: StoreKey, displayName: String, metadata: [String: String],
        context: OperationContext, boundCertificateFingerprint: String? = nil
    ) throws -> LogicalResponse {
        let mount = try context.requireMount()
        guard CIDRBlock.allows(settings.boundCIDRs, context.request.remoteAddress) else { throw LeaseholdError.permissionDenied }
        var request = settings.makeTokenRequest(
            displayName: "\(mount.type)-\(displayName)", metadata: metadata, authMethod: mount.type,
            path: "auth/\(mount.path)login")
        request.boundCertificateFingerprint = boundCertificateFingerprint
        request.loginSource = LoginSource(
            namespace: source.namespace.rawValue, mountPath: mount.path, name: String(source.key.dropFirst(mount.path.count)))
        request.apply(tuneOf: mount)
        context.transaction.setIdentityEnvironment(settings.environment)
        let (token, entry) = try context.services.tokens.create(request, now: context.now, in: context.transaction)
        context.transaction.annotate("created_token_accessor", entry.accessor)
        context.transaction.annotate("login_identity", displayName)
        return LogicalResponse(auth: TokenBackend.authBlock(token: token, entry: entry, now: context.now))
    }
}
