import Crypto
import Foundation
import LeaseholdAuth
import LeaseholdCore
import LeaseholdTestSupport
import Testing

@Suite("JWKS cache against a real HTTPS provider")
struct JWKSCacheTests {
    static func jwks(_ keys: [JSONValue]) throws -> String {
        String(decoding: try JSONEncoder().encode(JSONValue.object(["keys": .array(keys)])), as: UTF8.self)
    }

    static func token(kid: String, key: TestSigningKey = .p256(P256.Signing.PrivateKey())) throws -> CompactJWT {
        try CompactJWT(
            try TestJWT.sign(["sub": "a", "exp": 4_000_000_000], key: key, algorithm: "ES256", header: ["kid": .string(kid)]),
            allowed: SignatureAlgorithm.defaultSupported)
    }

    @Test("an unknown kid refreshes once; a flood of unknown kids costs the provider one request per interval")
    func unknownKidsAreRateLimited() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            let key = TestSigningKey.p256(P256.Signing.PrivateKey())
            server.serve("/keys", json: try Self.jwks([try key.jwk(kid: "k1")]))
            let cache = JWKSCache(minimumRefreshInterval: 10)
            let source = JWKSCache.Source(url: server.baseURL + "/keys", trustedCAPEM: authority.certificatePEM)
            let start = Date()
            #expect(try await cache.load(source, now: start).count == 1)
            #expect(try await cache.candidates(for: Self.token(kid: "k1", key: key), from: source, now: start).count == 1)
            #expect(server.requests(to: "/keys").count == 1)

            let later = start.addingTimeInterval(11)
            await #expect(throws: JWTValidationError.unknownKey) { _ = try await cache.candidates(for: Self.token(kid: "nope"), from: source, now: later) }
            #expect(server.requests(to: "/keys").count == 2)

            await withTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask { _ = try? await cache.candidates(for: Self.token(kid: "flood-\(index)"), from: source, now: later.addingTimeInterval(1)) }
                }
            }
            #expect(server.requests(to: "/keys").count == 2)
            // The known key keeps working during the flood.
            #expect(try await cache.candidates(for: Self.token(kid: "k1", key: key), from: source, now: later.addingTimeInterval(2)).count == 1)
        }
    }

    @Test("a key rotated in at the provider is found on the next refresh")
    func rotation() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            let old = TestSigningKey.p256(P256.Signing.PrivateKey())
            let new = TestSigningKey.p256(P256.Signing.PrivateKey())
            server.serve("/keys", json: try Self.jwks([try old.jwk(kid: "old")]))
            let cache = JWKSCache(minimumRefreshInterval: 10)
            let source = JWKSCache.Source(url: server.baseURL + "/keys", trustedCAPEM: authority.certificatePEM)
            let start = Date()
            _ = try await cache.load(source, now: start)
            server.serve("/keys", json: try Self.jwks([try old.jwk(kid: "old"), try new.jwk(kid: "new")]))
            let token = try Self.token(kid: "new", key: new)
            let found = try await cache.candidates(for: token, from: source, now: start.addingTimeInterval(10))
            #expect(found.count == 1)
            #expect(try await found[0].verify(token).string("sub") == "a")
        }
    }

    @Test("stale keys are not used once a refresh fails; unusable, oversized or untrusted documents are refused")
    func failClosed() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            let key = TestSigningKey.p256(P256.Signing.PrivateKey())
            server.serve("/keys", json: try Self.jwks([try key.jwk(kid: "k1")]))
            // A certificate the client cannot verify fails at the call's deadline (the pool retries until then). Not
            // shorter: with 2 s the first, good fetch missed it once while the whole suite shared the two cores.
            let client = OutboundHTTPClient(timeout: .seconds(5), maximumResponseBytes: 256 * 1024)
            let cache = JWKSCache(client: client, minimumRefreshInterval: 10, maximumAge: 60)
            let source = JWKSCache.Source(url: server.baseURL + "/keys", trustedCAPEM: authority.certificatePEM)
            let start = Date()
            _ = try await cache.load(source, now: start)
            server.serve("/keys", status: 500, json: "{}")
            await #expect(throws: JWTValidationError.providerUnavailable) {
                _ = try await cache.candidates(for: Self.token(kid: "k1", key: key), from: source, now: start.addingTimeInterval(61))
            }

            server.serve("/hmac", json: #"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}"#)
            server.serve("/many", json: try Self.jwks(Array(repeating: try key.jwk(kid: "k"), count: JSONWebKeySet.maximumKeys + 1)))
            server.serve("/huge", json: #"{"keys":[],"pad":""# + String(repeating: "x", count: 300 * 1024) + #""}"#)
            server.serve("/pinned-hs", json: try Self.jwks([try key.jwk(kid: "k", alg: "HS256")]))
            for path in ["/hmac", "/many", "/huge", "/pinned-hs", "/missing"] {
                await #expect(throws: JWTValidationError.self, "\(path)") {
                    _ = try await cache.load(JWKSCache.Source(url: server.baseURL + path, trustedCAPEM: authority.certificatePEM), now: start)
                }
            }
            let otherCA = try TestCertificateAuthority(commonName: "Other CA")
            await #expect(throws: JWTValidationError.providerUnavailable) {
                _ = try await cache.load(JWKSCache.Source(url: server.baseURL + "/keys", trustedCAPEM: otherCA.certificatePEM), now: start)
            }
        }
    }

    @Test("a JWK pinned to RS256 does not verify a PS256 token from the same key")
    func pinnedAlgorithm() async throws {
        let rsa = try TestSigningKey.makeRSA()
        let set = try JSONWebKeySet(json: Array(try Self.jwks([try rsa.jwk(kid: "r", alg: "RS256")]).utf8))
        let pss = try CompactJWT(
            try TestJWT.sign(["sub": "a"], key: rsa, algorithm: "PS256", header: ["kid": "r"]), allowed: SignatureAlgorithm.defaultSupported)
        #expect(set.keys.filter { $0.isCandidate(for: pss) }.isEmpty)
        let rs = try CompactJWT(
            try TestJWT.sign(["sub": "a"], key: rsa, algorithm: "RS256", header: ["kid": "r"]), allowed: SignatureAlgorithm.defaultSupported)
        #expect(try await set.keys[0].verify(rs).string("sub") == "a")
    }
}
