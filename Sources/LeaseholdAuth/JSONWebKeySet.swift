import Foundation
import JWTKit

/// A JWKS document reduced to the verification keys Leasehold can use.
///
/// Keys for encryption (`use: enc`), symmetric keys (`kty: oct`), keys pinned to an algorithm Leasehold refuses,
/// and keys that do not parse (RSA under 2048 bits, points off the curve) are skipped. A document with more than
/// ``maximumKeys`` keys, or with no usable key, is refused.
public struct JSONWebKeySet: Sendable {
    /// The most keys one document may hold.
    public static let maximumKeys = 64

    /// The usable keys.
    public let keys: [VerificationKey]

    private struct Document: Decodable {
        let keys: [Key]
    }

    private struct Key: Decodable {
        let kty: String?
        let kid: String?
        let alg: String?
        let use: String?
        let n: String?
        let e: String?
        let crv: String?
        let x: String?
        let y: String?
    }

    /// Parses a JWKS document.
    public init(json: [UInt8]) throws(JWTValidationError) {
        guard let document = try? JSONDecoder().decode(Document.self, from: Data(json)) else {
            throw .configuration("the JWKS document is not valid")
        }
        guard document.keys.count <= Self.maximumKeys else {
            throw .configuration("the JWKS document has more than \(Self.maximumKeys) keys")
        }
        keys = document.keys.compactMap(Self.verificationKey)
        guard !keys.isEmpty else { throw .configuration("the JWKS document has no usable signing key") }
    }

    private static func verificationKey(_ key: Key) -> VerificationKey? {
        guard key.use == nil || key.use == "sig", (key.kid?.utf8.count ?? 0) <= CompactJWT.maximumKeyIDLength else { return nil }
        var pinned: SignatureAlgorithm?
        if let alg = key.alg {
            guard let algorithm = SignatureAlgorithm(rawValue: alg) else { return nil }
            pinned = algorithm
        }
        let material: VerificationKey.Material?
        switch (key.kty, key.crv) {
        case ("RSA", _):
            material = key.n.flatMap { n in key.e.flatMap { e in try? Insecure.RSA.PublicKey(modulus: n, exponent: e) } }.map { .rsa($0) }
        case ("EC", "P-256"):
            material = coordinates(key).flatMap { try? ES256PublicKey(parameters: $0) }.map { .p256($0) }
        case ("EC", "P-384"):
            material = coordinates(key).flatMap { try? ES384PublicKey(parameters: $0) }.map { .p384($0) }
        case ("OKP", "Ed25519"):
            material = key.x.flatMap { try? EdDSA.PublicKey(x: $0, curve: .ed25519) }.map { .ed25519($0) }
        default:
            material = nil
        }
        guard let material else { return nil }
        let verificationKey = VerificationKey(material: material, keyID: key.kid, pinnedAlgorithm: pinned)
        if let pinned, !verificationKey.accepts(pinned) { return nil }
        return verificationKey
    }

    private static func coordinates(_ key: Key) -> ECDSAParameters? {
        guard let x = key.x, let y = key.y else { return nil }
        return (x, y)
    }
}
