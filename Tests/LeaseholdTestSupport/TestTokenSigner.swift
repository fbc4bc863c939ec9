import Crypto
import Foundation
import LeaseholdCore
import _CryptoExtras

/// A private key made in the test process for signing JWTs, with its public half as PEM and as a JWK.
public enum TestSigningKey: Sendable {
    /// An RSA key (RS*, PS*).
    case rsa(_RSA.Signing.PrivateKey)
    /// A P-256 key (ES256).
    case p256(P256.Signing.PrivateKey)
    /// A P-384 key (ES384).
    case p384(P384.Signing.PrivateKey)
    /// An Ed25519 key (EdDSA).
    case ed25519(Curve25519.Signing.PrivateKey)

    /// A fresh 2048-bit RSA key.
    public static func makeRSA() throws -> TestSigningKey { .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)) }

    /// The public key as PEM (SubjectPublicKeyInfo).
    public var publicKeyPEM: String {
        switch self {
        case .rsa(let key): key.publicKey.pemRepresentation
        case .p256(let key): key.publicKey.pemRepresentation
        case .p384(let key): key.publicKey.pemRepresentation
        case .ed25519(let key): key.publicKey.pemRepresentation
        }
    }

    /// The public key's bytes as the PEM text encodes them (what an algorithm-confusion attacker would use as an
    /// HMAC secret).
    public var publicKeyPEMBytes: [UInt8] { Array(publicKeyPEM.utf8) }

    /// The public key as a JWK with `kid` (and `alg` when given).
    public func jwk(kid: String, alg: String? = nil) throws -> JSONValue {
        var fields: [String: JSONValue] = ["kid": .string(kid), "use": "sig"]
        if let alg { fields["alg"] = .string(alg) }
        switch self {
        case .rsa(let key):
            let primitives = try key.publicKey.getKeyPrimitives()
            fields["kty"] = "RSA"
            fields["n"] = .string(TestJWT.base64URL(Array(primitives.modulus)))
            fields["e"] = .string(TestJWT.base64URL(Array(primitives.publicExponent)))
        case .p256(let key):
            let point = Array(key.publicKey.x963Representation)
            fields["kty"] = "EC"
            fields["crv"] = "P-256"
            fields["x"] = .string(TestJWT.base64URL(Array(point[1..<33])))
            fields["y"] = .string(TestJWT.base64URL(Array(point[33..<65])))
        case .p384(let key):
            let point = Array(key.publicKey.x963Representation)
            fields["kty"] = "EC"
            fields["crv"] = "P-384"
            fields["x"] = .string(TestJWT.base64URL(Array(point[1..<49])))
            fields["y"] = .string(TestJWT.base64URL(Array(point[49..<97])))
        case .ed25519(let key):
            fields["kty"] = "OKP"
            fields["crv"] = "Ed25519"
            fields["x"] = .string(TestJWT.base64URL(Array(key.publicKey.rawRepresentation)))
        }
        return .object(fields)
    }

    /// Signs `input` with `algorithm` (RS*, PS*, ES256, ES384, EdDSA), independently of the code under test.
    public func sign(_ input: [UInt8], algorithm: String) throws -> [UInt8] {
        switch (self, algorithm) {
        case (.rsa(let key), "RS256"): Array(try key.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), "RS384"): Array(try key.signature(for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), "RS512"): Array(try key.signature(for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), "PS256"): Array(try key.signature(for: SHA256.hash(data: input), padding: .PSS).rawRepresentation)
        case (.p256(let key), "ES256"): Array(try key.signature(for: input).rawRepresentation)
        case (.p384(let key), "ES384"): Array(try key.signature(for: input).rawRepresentation)
        case (.ed25519(let key), "EdDSA"): Array(try key.signature(for: input))
        default: throw TestJWT.Unsupported()
        }
    }
}

/// Builds compact JWTs with any header, claims and signature, so tests can forge every malformed variant.
public enum TestJWT {
    struct Unsupported: Error {}

    /// Unpadded base64url.
    public static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The `header.payload` signing input.
    public static func signingInput(header: [String: JSONValue], claims: [String: JSONValue]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return base64URL(Array(try encoder.encode(JSONValue.object(header)))) + "." + base64URL(Array(try encoder.encode(JSONValue.object(claims))))
    }

    /// A token signed by `key` with `algorithm`; `header` adds fields (`kid`, …) to `{"alg","typ"}`.
    public static func sign(
        _ claims: [String: JSONValue], key: TestSigningKey, algorithm: String, header: [String: JSONValue] = [:]
    ) throws -> String {
        var fullHeader: [String: JSONValue] = ["alg": .string(algorithm), "typ": "JWT"]
        fullHeader.merge(header) { _, new in new }
        let input = try signingInput(header: fullHeader, claims: claims)
        return input + "." + base64URL(try key.sign(Array(input.utf8), algorithm: algorithm))
    }

    /// An `HS256` token keyed with `secret` (for algorithm-confusion attacks).
    public static func hs256(_ claims: [String: JSONValue], secret: [UInt8], header: [String: JSONValue] = [:]) throws -> String {
        var fullHeader: [String: JSONValue] = ["alg": "HS256", "typ": "JWT"]
        fullHeader.merge(header) { _, new in new }
        let input = try signingInput(header: fullHeader, claims: claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: secret))
        return input + "." + base64URL(Array(mac))
    }

    /// An unsigned token (`alg: none`, empty or given signature segment).
    public static func unsigned(_ claims: [String: JSONValue], signature: String = "") throws -> String {
        try signingInput(header: ["alg": "none", "typ": "JWT"], claims: claims) + "." + signature
    }
}
