import Crypto
import _CryptoExtras
import Foundation
import LeaseholdAuth
import LeaseholdCore
import LeaseholdTestSupport
import Testing

@Suite("JWT parsing, keys and claims")
struct JWTValidationTests {
    static let now = Date().timeIntervalSince1970.rounded()

    static func claims(_ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [
            "iss": "https://issuer.test", "sub": "svc-1", "aud": ["leasehold"], "iat": .int(Int(now)), "exp": .int(Int(now) + 300),
        ]
        claims.merge(extra) { _, new in new }
        return claims
    }

    func expectError(_ expected: JWTValidationError, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        #expect(throws: expected, sourceLocation: sourceLocation) { try body() }
    }

    // MARK: Shape

    @Test("oversized tokens, extra dots, padding and non-base64url bytes are refused before decoding")
    func boundedParsing() throws {
        let all = SignatureAlgorithm.defaultSupported
        let key = try TestSigningKey.makeRSA()
        let valid = try TestJWT.sign(Self.claims(), key: key, algorithm: "RS256")
        _ = try CompactJWT(valid, allowed: all)
        let oversized = try TestJWT.sign(Self.claims(["pad": .string(String(repeating: "x", count: CompactJWT.maximumLength))]), key: key, algorithm: "RS256")
        for bad in [
            oversized, String(repeating: ".", count: 1_000_000), String(repeating: "a.", count: 5000), valid + ".", valid + ".x", "a.b", "..", "a..c",
            valid.replacingOccurrences(of: "-", with: "+"), valid + "=", "e30.e30.%%%", "",
        ] {
            expectError(.malformed) { _ = try CompactJWT(bad, allowed: all) }
        }
        let notObject = TestJWT.base64URL(Array("[1]".utf8)) + ".e30.AAAA"
        expectError(.malformed) { _ = try CompactJWT(notObject, allowed: all) }
    }

    @Test("alg none, HS256, unknown and unconfigured algorithms are refused; crit headers too")
    func algorithmAllowList() throws {
        let all = SignatureAlgorithm.defaultSupported
        expectError(.malformed) { _ = try CompactJWT(try! TestJWT.unsigned(Self.claims()), allowed: all) }
        expectError(.unsupportedAlgorithm) { _ = try CompactJWT(try! TestJWT.unsigned(Self.claims(), signature: "AAAA"), allowed: all) }
        expectError(.unsupportedAlgorithm) { _ = try CompactJWT(try! TestJWT.hs256(Self.claims(), secret: [1, 2, 3]), allowed: all) }
        let es = try TestJWT.sign(Self.claims(), key: .p256(P256.Signing.PrivateKey()), algorithm: "ES256")
        expectError(.unsupportedAlgorithm) { _ = try CompactJWT(es, allowed: [.rs256]) }
        let crit = try TestJWT.sign(Self.claims(), key: .p256(P256.Signing.PrivateKey()), algorithm: "ES256", header: ["crit": ["b64"], "b64": false])
        expectError(.unsupportedCriticalHeader) { _ = try CompactJWT(crit, allowed: all) }
        for name in ["none", "HS256", "HS512", "RS1", ""] {
            #expect(throws: JWTValidationError.self) { _ = try SignatureAlgorithm.parseList([name]) }
        }
    }

    @Test("a parsed token prints its algorithm and key id, never the token")
    func aParsedTokenRedactsItself() throws {
        let token = try TestJWT.sign(Self.claims(["sub": "canary-subject"]), key: .p256(P256.Signing.PrivateKey()), algorithm: "ES256")
        let parsed = try CompactJWT(token, allowed: SignatureAlgorithm.defaultSupported)
        let payload = String(token.split(separator: ".")[1])
        for printed in [String(describing: parsed), String(reflecting: parsed), "\(parsed)", "\(Mirror(reflecting: parsed).children.map(\.value))"] {
            #expect(!printed.contains(payload))
            #expect(!printed.contains(token))
        }
    }

    // MARK: Keys

    @Test("each key family verifies its own algorithms", arguments: ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"])
    func familiesVerify(algorithm: String) async throws {
        let key: TestSigningKey =
            switch algorithm {
            case "ES256": .p256(P256.Signing.PrivateKey())
            case "ES384": .p384(P384.Signing.PrivateKey())
            case "EdDSA": .ed25519(Curve25519.Signing.PrivateKey())
            default: try .makeRSA()
            }
        let verifier = try VerificationKey(pem: key.publicKeyPEM)
        let token = try CompactJWT(try TestJWT.sign(Self.claims(), key: key, algorithm: algorithm), allowed: SignatureAlgorithm.defaultSupported)
        #expect(try await verifier.verify(token).string("sub") == "svc-1")
        let other = try VerificationKey(pem: TestSigningKey.makeRSA().publicKeyPEM)
        await #expect(throws: JWTValidationError.badSignature) { _ = try await other.verify(token) }
    }

    @Test("an RSA key never verifies an HS256 token keyed with its own public PEM, even with HS256 forced through")
    func algorithmConfusion() async throws {
        let key = try TestSigningKey.makeRSA()
        let verifier = try VerificationKey(pem: key.publicKeyPEM)
        let forged = try TestJWT.hs256(Self.claims(), secret: key.publicKeyPEMBytes)
        #expect(throws: JWTValidationError.unsupportedAlgorithm) { _ = try CompactJWT(forged, allowed: SignatureAlgorithm.defaultSupported) }
        // The same forged MAC under an RS256 header is just a bad signature.
        let relabelled = forged.replacingOccurrences(of: forged.split(separator: ".")[0], with: TestJWT.base64URL(Array(#"{"alg":"RS256","typ":"JWT"}"#.utf8)))
        let token = try CompactJWT(relabelled, allowed: SignatureAlgorithm.defaultSupported)
        await #expect(throws: JWTValidationError.badSignature) { _ = try await verifier.verify(token) }
        for algorithm in SignatureAlgorithm.allCases {
            #expect(verifier.accepts(algorithm) == (algorithm.keyFamily == .rsa))
        }
    }

    @Test("an ECDSA signature with r = s = 0 and a PS256 signature under an RS256 header are refused")
    func forgedSignatures() async throws {
        let ec = P256.Signing.PrivateKey()
        let verifier = try VerificationKey(pem: TestSigningKey.p256(ec).publicKeyPEM)
        let input = try TestJWT.signingInput(header: ["alg": "ES256"], claims: Self.claims())
        let zero = try CompactJWT(input + "." + TestJWT.base64URL([UInt8](repeating: 0, count: 64)), allowed: [.es256])
        await #expect(throws: JWTValidationError.badSignature) { _ = try await verifier.verify(zero) }

        let rsa = try TestSigningKey.makeRSA()
        let rsInput = try TestJWT.signingInput(header: ["alg": "RS256"], claims: Self.claims())
        let pss = try rsa.sign(Array(rsInput.utf8), algorithm: "PS256")
        let mislabelled = try CompactJWT(rsInput + "." + TestJWT.base64URL(pss), allowed: [.rs256])
        await #expect(throws: JWTValidationError.badSignature) { _ = try await VerificationKey(pem: rsa.publicKeyPEM).verify(mislabelled) }
    }

    @Test("an embedded jwk header is never used: only configured keys verify")
    func embeddedKeyIgnored() async throws {
        let attacker = P256.Signing.PrivateKey()
        let token = try TestJWT.sign(
            Self.claims(), key: .p256(attacker), algorithm: "ES256",
            header: ["jwk": try TestSigningKey.p256(attacker).jwk(kid: "evil"), "jku": "https://evil.test/keys", "x5u": "https://evil.test/x5u"])
        let configured = try VerificationKey(pem: TestSigningKey.p256(P256.Signing.PrivateKey()).publicKeyPEM)
        await #expect(throws: JWTValidationError.badSignature) {
            _ = try await configured.verify(try CompactJWT(token, allowed: SignatureAlgorithm.defaultSupported))
        }
    }

    @Test("a PEM certificate stands for its public key")
    func certificateKeys() async throws {
        let issued = try TestCertificateAuthority().issue(commonName: "signer")
        let verifier = try VerificationKey(pem: issued.certificatePEM)
        let token = try CompactJWT(
            try TestJWT.sign(Self.claims(), key: .p256(issued.privateKey), algorithm: "ES256"), allowed: SignatureAlgorithm.defaultSupported)
        #expect(try await verifier.verify(token).string("sub") == "svc-1")
    }

    @Test("PEM keys: RSA under 2048 bits and garbage are refused")
    func pemKeys() throws {
        let small = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        for pem in [small.publicKey.pemRepresentation, "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"] {
            #expect(throws: JWTValidationError.self) { _ = try VerificationKey(pem: pem) }
        }
    }

    // MARK: Claims

    func expectations(audiences: [String] = ["leasehold"]) -> ClaimExpectations {
        var expectations = ClaimExpectations()
        expectations.issuer = "https://issuer.test"
        expectations.audiences = audiences
        return expectations
    }

    @Test("exp, nbf and iat are checked with the 60 s leeway: inside it passes, outside it fails")
    func timeWindows() throws {
        let check = expectations()
        let now = Self.now
        try check.check(JWTClaimSet(Self.claims(["exp": .int(Int(now) - 30)])), now: now)
        try check.check(JWTClaimSet(Self.claims(["nbf": .int(Int(now) + 30)])), now: now)
        expectError(.expired) { try check.check(JWTClaimSet(Self.claims(["exp": .int(Int(now) - 90)])), now: now) }
        expectError(.notYetValid) { try check.check(JWTClaimSet(Self.claims(["nbf": .int(Int(now) + 90)])), now: now) }
        expectError(.notYetValid) { try check.check(JWTClaimSet(Self.claims(["iat": .int(Int(now) + 90)])), now: now) }
        var strict = check
        try strict.leeway.configure(clockSkew: -1, expiration: nil, notBefore: nil)
        expectError(.expired) { try strict.check(JWTClaimSet(Self.claims(["exp": .int(Int(now) - 1)])), now: now) }
        var noTimes = Self.claims()
        noTimes["iat"] = nil
        noTimes["exp"] = nil
        expectError(.missingTimeClaims) { try check.check(JWTClaimSet(noTimes), now: now) }
        expectError(.missingTimeClaims) { try check.check(JWTClaimSet(Self.claims(["exp": "tomorrow"])), now: now) }
        // Without exp, a token expires expiration_leeway after iat.
        var onlyIssued = Self.claims(["iat": .int(Int(now) - 200)])
        onlyIssued["exp"] = nil
        expectError(.expired) { try check.check(JWTClaimSet(onlyIssued), now: now) }
    }

    @Test("leeways are capped at 60 seconds")
    func leewayCap() throws {
        var leeway = ClockLeeway()
        try leeway.configure(clockSkew: 60, expiration: -1, notBefore: 0)
        #expect(throws: JWTValidationError.self) { try leeway.configure(clockSkew: 61, expiration: nil, notBefore: nil) }
        #expect(throws: JWTValidationError.self) { try leeway.configure(clockSkew: nil, expiration: 3600, notBefore: nil) }
        #expect(throws: JWTValidationError.self) { try leeway.configure(clockSkew: nil, expiration: nil, notBefore: -2) }
    }

    @Test("aud as a string or a list must name a bound audience; aud without bound audiences is refused (CVE-2024-5798)")
    func audiences() throws {
        let now = Self.now
        try expectations().check(JWTClaimSet(Self.claims(["aud": "leasehold"])), now: now)
        try expectations().check(JWTClaimSet(Self.claims(["aud": ["other", "leasehold"]])), now: now)
        expectError(.audienceMismatch) { try expectations().check(JWTClaimSet(Self.claims(["aud": "other"])), now: now) }
        expectError(.audienceMismatch) { try expectations().check(JWTClaimSet(Self.claims(["aud": ["other"]])), now: now) }
        expectError(.audienceMismatch) { try expectations().check(JWTClaimSet(Self.claims(["aud": .null])), now: now) }
        expectError(.audienceMismatch) { try expectations().check(JWTClaimSet(Self.claims(["aud": [1]])), now: now) }
        expectError(.audienceWithoutBinding) { try expectations(audiences: []).check(JWTClaimSet(Self.claims(["aud": "leasehold"])), now: now) }
        expectError(.audienceWithoutBinding) { try expectations(audiences: []).check(JWTClaimSet(Self.claims(["aud": ["leasehold"]])), now: now) }
        try expectations(audiences: []).check(JWTClaimSet(Self.claims(["aud": .null])), now: now)
        var kubernetes = expectations(audiences: [])
        kubernetes.refusesUnboundAudience = false
        try kubernetes.check(JWTClaimSet(Self.claims(["aud": "anything"])), now: now)
    }

    @Test("iss and sub must match exactly")
    func issuerAndSubject() throws {
        let now = Self.now
        expectError(.issuerMismatch) { try expectations().check(JWTClaimSet(Self.claims(["iss": "https://issuer.test/"])), now: now) }
        var bound = expectations()
        bound.subject = "svc-1"
        try bound.check(JWTClaimSet(Self.claims()), now: now)
        expectError(.subjectMismatch) { try bound.check(JWTClaimSet(Self.claims(["sub": "svc-2"])), now: now) }
    }

    @Test("bound claims: exact and glob, list claims match when any element does, JSON pointers reach nested claims")
    func boundClaims() throws {
        let claims = JWTClaimSet(Self.claims([
            "groups": ["dev", "ops"], "email": "a@corp.test", "admin": true, "project": ["ref": "refs/heads/main"],
        ]))
        let exact = try BoundClaims(parsing: ["groups": ["ops"], "email": "a@corp.test", "admin": true, "/project/ref": "refs/heads/main"], usesGlobs: false)
        try exact.check(claims)
        #expect(throws: JWTValidationError.boundClaimMismatch) { try BoundClaims(parsing: ["email": "*@corp.test"], usesGlobs: false).check(claims) }
        #expect(throws: JWTValidationError.boundClaimMismatch) { try BoundClaims(parsing: ["missing": "x"], usesGlobs: false).check(claims) }
        #expect(throws: JWTValidationError.boundClaimMismatch) { try BoundClaims(parsing: ["groups": ["qa", "sec"]], usesGlobs: false).check(claims) }
        try BoundClaims(parsing: ["email": "*@corp.test", "/project/ref": "refs/heads/*"], usesGlobs: true).check(claims)
        #expect(throws: JWTValidationError.boundClaimMismatch) { try BoundClaims(parsing: ["email": "*@other.test"], usesGlobs: true).check(claims) }
        #expect(throws: JWTValidationError.self) { _ = try BoundClaims(parsing: ["email": ["a": "b"]], usesGlobs: false) }
        #expect(throws: JWTValidationError.self) { _ = try BoundClaims(parsing: ["email": []], usesGlobs: false) }
    }

    @Test("wildcards: * at either end or inside, never more than written")
    func wildcards() {
        let cases: [(String, String, Bool)] = [
            ("team-*", "team-a", true), ("team-*", "team-", true), ("team-*", "teams", false), ("team-*", "xteam-a", false),
            ("*-prod", "api-prod", true), ("*-prod", "api-prod-2", false), ("*", "", true), ("*", "anything", true),
            ("a*b*c", "abc", true), ("a*b*c", "aXbYc", true), ("a*b*c", "acb", false), ("", "", true), ("", "a", false),
            ("default", "default", true), ("default", "Default", false), ("**", "x", true),
        ]
        for (pattern, text, expected) in cases {
            #expect(WildcardPattern(pattern).matches(text) == expected, "\(pattern) vs \(text)")
        }
        #expect(!WildcardPattern.anyMatches([], "default"))
    }

    // MARK: Kubernetes claims

    @Test("service-account claims are read from projected and legacy tokens")
    func serviceAccountClaims() throws {
        let projected = JWTClaimSet([
            "kubernetes.io": ["namespace": "apps", "serviceaccount": ["name": "web", "uid": "u-1"], "pod": ["name": "p", "uid": "p-1"]],
        ])
        #expect(try ServiceAccountIdentity(claims: projected) == ServiceAccountIdentity(namespace: "apps", name: "web", uid: "u-1"))
        let legacy = JWTClaimSet([
            "kubernetes.io/serviceaccount/namespace": "apps", "kubernetes.io/serviceaccount/service-account.name": "web",
            "kubernetes.io/serviceaccount/service-account.uid": "u-2",
        ])
        #expect(try ServiceAccountIdentity(claims: legacy).uid == "u-2")
        #expect(throws: JWTValidationError.missingIdentityClaim) { _ = try ServiceAccountIdentity(claims: JWTClaimSet(["kubernetes.io": ["namespace": "apps"]])) }
        #expect(throws: JWTValidationError.missingIdentityClaim) { _ = try ServiceAccountIdentity(claims: JWTClaimSet(["sub": "x"])) }
    }

    @Test("error descriptions never echo token content")
    func safeDescriptions() throws {
        let cases: [JWTValidationError] = [.malformed, .unsupportedAlgorithm, .badSignature, .expired, .issuerMismatch, .audienceMismatch, .boundClaimMismatch, .unknownKey]
        for error in cases {
            #expect(!error.description.contains("svc-1"))
        }
        #expect(Set([JWTValidationError.badSignature, .expired, .issuerMismatch, .audienceMismatch, .boundClaimMismatch, .unknownKey].map(\.description)).count == 1)
    }
}
