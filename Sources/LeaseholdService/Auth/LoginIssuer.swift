import Foundation
import LeaseholdCore

/// Issues the token of a successful login and shapes the response, the same way for every auth method.
enum LoginIssuer {
    static func issue(
        _ settings: TokenSettings, displayName: String, metadata: [String: String], context: OperationContext,
        boundCertificateFingerprint: String? = nil
    ) throws -> LogicalResponse {
        let mount = try context.requireMount()
        guard CIDRBlock.allows(settings.boundCIDRs, context.request.remoteAddress) else { throw LeaseholdError.permissionDenied }
        var request = settings.makeTokenRequest(
            displayName: "\(mount.type)-\(displayName)", metadata: metadata, authMethod: mount.type,
            path: "auth/\(mount.path)login")
        request.boundCertificateFingerprint = boundCertificateFingerprint
        context.transaction.setIdentityEnvironment(settings.environment)
        let (token, entry) = try context.services.tokens.create(request, now: context.now, in: context.transaction)
        context.transaction.annotate("created_token_accessor", entry.accessor)
        context.transaction.annotate("login_identity", displayName)
        return LogicalResponse(auth: TokenBackend.authBlock(token: token, entry: entry, now: context.now))
    }
}
