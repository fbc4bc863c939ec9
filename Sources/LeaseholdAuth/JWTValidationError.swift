/// Why a JWT (or an identity-provider configuration) was refused.
///
/// The cases are precise so tests can tell which check fired, but ``description`` — the only text that may reach a
/// caller — groups every check made after parsing into one phrase: a caller never learns whether the signature,
/// the key id, the issuer, the audience, the times or a bound claim was wrong. No description contains token content.
public enum JWTValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Too long, not three base64url segments, or a header or payload that is not a JSON object.
    case malformed
    /// The header names an algorithm that is not accepted (including `none` and `HS*`).
    case unsupportedAlgorithm
    /// The header carries a `crit` extension, which Leasehold does not implement.
    case unsupportedCriticalHeader
    /// No configured key has the token's `kid`, or no key of the algorithm's family exists.
    case unknownKey
    /// The signature does not verify under any candidate key.
    case badSignature
    /// `exp` (plus leeway) has passed.
    case expired
    /// `nbf` (minus leeway) or `iat` (minus the clock-skew leeway) is in the future.
    case notYetValid
    /// The token carries none of `exp`, `nbf` and `iat`, or one of them is not a number.
    case missingTimeClaims
    /// `iss` differs from the expected issuer.
    case issuerMismatch
    /// No `aud` value is bound to the role, or `aud` is missing while audiences are bound.
    case audienceMismatch
    /// `sub` differs from the bound subject.
    case subjectMismatch
    /// A bound claim is missing or has no matching value.
    case boundClaimMismatch
    /// The user claim, a groups claim or a service-account claim is missing or has the wrong type.
    case missingIdentityClaim
    /// The token has an `aud` claim but the role binds no audience (CVE-2024-5798: such tokens are refused).
    case audienceWithoutBinding
    /// The identity provider (JWKS URL, Kubernetes API server) could not be reached or gave no usable answer.
    case providerUnavailable
    /// A configuration value is invalid; the message is safe to show and names no secret.
    case configuration(String)

    /// The caller-safe text.
    public var description: String {
        switch self {
        case .malformed: "malformed token"
        case .unsupportedAlgorithm, .unsupportedCriticalHeader: "unsupported signing algorithm or header"
        case .audienceWithoutBinding: "audience claim found in JWT but no audiences bound to the role"
        case .providerUnavailable: "the identity provider could not be reached"
        case .configuration(let message): message
        default: "token is not valid"
        }
    }
}
