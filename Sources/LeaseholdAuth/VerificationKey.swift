import Foundation
import JWTKit
import LeaseholdCore
import X509

/// A public key bound to its algorithm family, and optionally to one algorithm (a JWK's `alg`).
///
/// jwt-kit's key collection verifies with whatever signer a `kid` (or its default) names, whatever the header's
/// `alg` says, so the header is never trusted to pick the algorithm: ``verify(_:)`` first requires the token's
/// algorithm to belong to this key's family — an RSA key never verifies `HS256`, `ES256` or `EdDSA` — and then
/// hands jwt-kit a one-key collection holding exactly that key for exactly that algorithm.
public struct VerificationKey: Sendable {
    enum Material: Sendable {
        case rsa(Insecure.RSA.PublicKey)
        case p256(ES256PublicKey)
        case p384(ES384PublicKey)
        case ed25519(EdDSA.PublicKey)
    }

    let material: Material
    /// The key id (from a JWKS), if any.
    public let keyID: String?
    /// The one algorithm the key was published for, if its JWK said so.
    public let pinnedAlgorithm: SignatureAlgorithm?

    /// The largest PEM text accepted for one key.
    static let maximumPEMLength = 16 * 1024

    init(material: Material, keyID: String? = nil, pinnedAlgorithm: SignatureAlgorithm? = nil) {
        self.material = material
        self.keyID = keyID
        self.pinnedAlgorithm = pinnedAlgorithm
    }

    /// Parses a PEM public key — RSA (at least 2048 bits), EC P-256, EC P-384 or Ed25519 — or a PEM certificate,
    /// whose public key is used (as Vault does; the certificate's validity and issuer are not consulted).
    public init(pem: String) throws(JWTValidationError) {
        guard pem.utf8.count <= Self.maximumPEMLength, pem.contains("-----BEGIN") else {
            throw .configuration("a public key is not valid PEM")
        }
        var keyPEM = pem
        if pem.contains("-----BEGIN CERTIFICATE-----") {
            guard let extracted = try? Certificate(pemEncoded: pem).publicKey.serializeAsPEM().pemString else {
                throw .configuration("a public key certificate is not valid PEM")
            }
            keyPEM = extracted
        }
        self.init(material: try Self.material(publicKeyPEM: keyPEM))
    }

    private static func material(publicKeyPEM pem: String) throws(JWTValidationError) -> Material {
        if let key = try? Insecure.RSA.PublicKey(pem: pem) { return .rsa(key) }
        if let key = try? ES256PublicKey(pem: pem) { return .p256(key) }
        if let key = try? ES384PublicKey(pem: pem) { return .p384(key) }
        if let key = try? EdDSA.PublicKey(pem: pem) { return .ed25519(key) }
        throw .configuration("a public key is not a supported PEM public key (RSA of at least 2048 bits, EC P-256 or P-384, or Ed25519)")
    }

    /// The key's family.
    public var family: SignatureAlgorithm.KeyFamily {
        switch material {
        case .rsa: .rsa
        case .p256: .p256
        case .p384: .p384
        case .ed25519: .ed25519
        }
    }

    /// Whether this key may verify a token signed with `algorithm`.
    public func accepts(_ algorithm: SignatureAlgorithm) -> Bool {
        algorithm.keyFamily == family && (pinnedAlgorithm == nil || pinnedAlgorithm == algorithm)
    }

    /// Whether this key is a candidate for `token`: its algorithm is acceptable and, when both name one, the key
    /// ids agree.
    public func isCandidate(for token: CompactJWT) -> Bool {
        guard accepts(token.algorithm) else { return false }
        guard let wanted = token.keyID, let keyID else { return true }
        return wanted == keyID
    }

    /// Verifies `token`'s signature and returns its claims.
    public func verify(_ token: CompactJWT) async throws(JWTValidationError) -> JWTClaimSet {
        guard accepts(token.algorithm) else { throw .badSignature }
        let collection = JWTKeyCollection()
        switch (material, token.algorithm) {
        case (.rsa(let key), .rs256): await collection.add(rsa: key, digestAlgorithm: .sha256)
        case (.rsa(let key), .rs384): await collection.add(rsa: key, digestAlgorithm: .sha384)
        case (.rsa(let key), .rs512): await collection.add(rsa: key, digestAlgorithm: .sha512)
        case (.rsa(let key), .ps256): await collection.add(pss: key, digestAlgorithm: .sha256)
        case (.rsa(let key), .ps384): await collection.add(pss: key, digestAlgorithm: .sha384)
        case (.rsa(let key), .ps512): await collection.add(pss: key, digestAlgorithm: .sha512)
        case (.p256(let key), .es256): await collection.add(ecdsa: key)
        case (.p384(let key), .es384): await collection.add(ecdsa: key)
        case (.ed25519(let key), .edDSA): await collection.add(eddsa: key)
        default: throw .badSignature
        }
        do {
            return JWTClaimSet(try await collection.verify(token.token, as: VerifiedPayload.self).claims)
        } catch {
            throw .badSignature
        }
    }
}

/// The payload of a token whose signature jwt-kit has verified; the claims are checked by ``ClaimExpectations``.
struct VerifiedPayload: JWTPayload {
    let claims: [String: JSONValue]

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
