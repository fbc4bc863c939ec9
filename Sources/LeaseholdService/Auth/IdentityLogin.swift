import LeaseholdAuth
import LeaseholdCore

/// What the JWT and Kubernetes logins share: failed-login limits and the translation of validation failures into
/// caller-safe errors.
enum IdentityLogin {
    /// The most characters of a role name used in a throttle key or echoed in an error.
    static let maximumRoleNameLength = 128

    /// Runs `attempt` unless the (mount, role, client address) key has too many recent failures, and counts a
    /// failure when it is refused — by a ``JWTValidationError`` (translated by `refusal`) or a 400/403 error. An
    /// unreachable identity provider is neither a refusal nor counted: it answers 500 so clients retry.
    static func throttled(
        _ context: OperationContext, role: String, refusal: (JWTValidationError) -> LeaseholdError,
        _ attempt: () async throws -> LogicalResponse
    ) async throws -> LogicalResponse {
        // Role names are case-insensitive (stored lowercased): every spelling shares one failure budget.
        let key = "\(try context.requireMount().path)|\(role.prefix(maximumRoleNameLength).lowercased())|\(LoginThrottle.client(context))"
        return try await context.services.loginThrottle.guarding(key, now: context.now) {
            do {
                return try await attempt()
            } catch JWTValidationError.providerUnavailable {
                // The provider (JWKS, TokenReview) did not answer: not the caller's failure, so not counted.
                throw LeaseholdError(.targetUnavailable, "error validating token: the identity provider could not be reached")
            } catch let error as JWTValidationError {
                throw refusal(error)
            }
        }
    }

    /// A configuration error from LeaseholdAuth as a 400.
    static func invalid(_ error: JWTValidationError) -> LeaseholdError {
        LeaseholdError.invalidRequest(error.description)
    }
}
