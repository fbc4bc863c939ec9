/// A JWS signature algorithm Leasehold accepts: asymmetric only. `none` and the HMAC family (`HS*`) have no
/// case, so no configuration, header or key can ever select them.
public enum SignatureAlgorithm: String, Sendable, Hashable, CaseIterable, Codable {
    /// RSASSA-PKCS1-v1_5 with SHA-256, SHA-384 or SHA-512.
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    /// RSASSA-PSS with SHA-256, SHA-384 or SHA-512.
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    /// ECDSA on P-256 with SHA-256, or on P-384 with SHA-384.
    case es256 = "ES256", es384 = "ES384"
    /// Ed25519.
    case edDSA = "EdDSA"

    /// The key family an algorithm needs; a key verifies only algorithms of its own family.
    public enum KeyFamily: Sendable, Hashable {
        /// RSA keys (RS*, PS*), EC keys on P-256 (ES256) or P-384 (ES384), and Ed25519 keys (EdDSA).
        case rsa, p256, p384, ed25519
    }

    /// The key family this algorithm signs with.
    public var keyFamily: KeyFamily {
        switch self {
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: .rsa
        case .es256: .p256
        case .es384: .p384
        case .edDSA: .ed25519
        }
    }

    /// The default `jwt_supported_algs`: every case.
    public static let defaultSupported: [SignatureAlgorithm] = allCases

    /// Parses configured algorithm names; `none`, `HS*` and unknown names are refused with a caller-safe message.
    public static func parseList(_ names: [String]) throws(JWTValidationError) -> [SignatureAlgorithm] {
        try names.map { name throws(JWTValidationError) in
            guard let algorithm = SignatureAlgorithm(rawValue: name) else {
                throw .configuration("unsupported signing algorithm \"\(name.prefix(16))\"")
            }
            return algorithm
        }
    }
}
