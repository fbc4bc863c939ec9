import Crypto
import Foundation
import LeaseholdCore
import LeaseholdTestSupport
import Testing

@Suite("Auth method: JWT/OIDC")
struct JWTAuthTests {
    static let invalidToken = #"{"errors":["error validating token: token is not valid"]}"#

    /// Claims valid at `now` for role `ci`.
    static func claims(_ now: Date, _ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        let seconds = Int(now.timeIntervalSince1970)
        var claims: [String: JSONValue] = [
            "iss": "https://ci.test", "sub": "repo:shop", "aud": ["leasehold"], "iat": .int(seconds), "nbf": .int(seconds),
            "exp": .int(seconds + 300), "email": "builder@ci.test", "branch": "main", "groups": ["builders"],
        ]
        claims.merge(extra) { _, new in new }
        return claims
    }

    /// Enables `jwt` with `config` and creates role `ci`, merged with `role`.
    func setUp(_ api: APIClient, root: String, config: [String: JSONValue], role: [String: JSONValue] = [:], type: String = "jwt") async throws {
        #expect(try await api.send(.post, "sys/auth/jwt", token: root, json: ["type": .string(type)]).status == 204)
        let configured = try await api.send(.post, "auth/jwt/config", token: root, json: .object(config))
        #expect(configured.status == 204, "\(configured.text)")
        var fields: [String: JSONValue] = [
            "role_type": "jwt", "bound_audiences": ["leasehold"], "user_claim": "sub", "token_policies": ["app"],
            "claim_mappings": ["email": "email", "branch": "branch"], "environment": "prod",
        ]
        fields.merge(role) { _, new in new }
        let written = try await api.send(.post, "auth/jwt/role/ci", token: root, json: .object(fields))
        #expect(written.status == 204, "\(written.text)")
    }

    func login(_ api: APIClient, _ jwt: String, role: String? = "ci") async throws -> APIClient.Reply {
        var body: [String: JSONValue] = ["jwt": .string(jwt)]
        if let role { body["role"] = .string(role) }
        return try await api.send(.post, "auth/jwt/login", json: .object(body))
    }

    @Test func aSignedTokenLogsInWithMappedMetadataAndTheRolesEnvironment() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let key = try TestSigningKey.makeRSA()
        let now = harness.clock.now
        try await harness.withClient { api in
            try await setUp(
                api, root: root,
                config: ["jwt_validation_pubkeys": [.string(key.publicKeyPEM)], "bound_issuer": "https://ci.test", "default_role": "ci"])
            let jwt = try TestJWT.sign(Self.claims(now), key: key, algorithm: "RS256")
            let reply = try await login(api, jwt, role: nil)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.auth["metadata"] == ["role": "ci", "email": "builder@ci.test", "branch": "main"])
            #expect(reply.auth["policies"] == .strings(["app", "default"]))
            let lookup = try await api.send(.get, "auth/token/lookup-self", token: reply.clientToken)
            #expect(lookup.data["environment"] == "prod")
            #expect(lookup.data["display_name"] == "jwt-repo:shop")
            #expect(lookup.data["path"] == "auth/jwt/login")

            let config = try await api.send(.get, "auth/jwt/config", token: root)
            #expect(config.data["status"] == "valid")
            #expect(config.data["jwt_supported_algs"] == .strings(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]))
            let role = try await api.send(.get, "auth/jwt/role/ci", token: root)
            #expect(role.data["bound_audiences"] == .strings(["leasehold"]))
            #expect(role.data["clock_skew_leeway"] == 0)
            #expect(try await api.send(.list, "auth/jwt/role", token: root).data["keys"] == .strings(["ci"]))
            // Renewal finds the role the token logged in with (named in any case), and refuses once it is gone.
            let mixedCase = try await login(api, jwt, role: "CI")
            #expect(mixedCase.status == 200, "\(mixedCase.text)")
            for token in [reply.clientToken, mixedCase.clientToken] {
                let renewed = try await api.send(.put, "auth/token/renew-self", token: token, json: [:])
                #expect(renewed.status == 200, "\(renewed.text)")
            }
            #expect(try await api.send(.delete, "auth/jwt/role/ci", token: root).status == 204)
            let orphaned = try await api.send(.put, "auth/token/renew-self", token: reply.clientToken, json: [:])
            #expect(orphaned.errors == ["the role, user or certificate entry of this login no longer exists; not renewing"])
            #expect(try await login(api, jwt).text == #"{"errors":["role \"ci\" could not be found"]}"#)

            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            let everything = try records.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!everything.contains(jwt.split(separator: ".")[2]))
        }
    }

    @Test func algorithmAttacksAndMalformedTokensAreRefused() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let key = try TestSigningKey.makeRSA()
        let now = harness.clock.now
        try await harness.withClient { api in
            try await setUp(api, root: root, config: ["jwt_validation_pubkeys": [.string(key.publicKeyPEM)]])
            let hs256 = try TestJWT.hs256(Self.claims(now), secret: key.publicKeyPEMBytes)
            let none = try TestJWT.unsigned(Self.claims(now), signature: "AAAA")
            for jwt in [hs256, none] {
                let reply = try await login(api, jwt)
                #expect(reply.status == 400)
                #expect(reply.text == #"{"errors":["error validating token: unsupported signing algorithm or header"]}"#)
            }
            let valid = try TestJWT.sign(Self.claims(now), key: key, algorithm: "RS256")
            let oversized = try TestJWT.sign(Self.claims(now, ["pad": .string(String(repeating: "x", count: 20_000))]), key: key, algorithm: "RS256")
            for jwt in [oversized, valid + ".x.y", String(repeating: "a.", count: 4000), "not a jwt"] {
                let reply = try await login(api, jwt)
                #expect(reply.status == 400)
                #expect(reply.text == #"{"errors":["error validating token: malformed token"]}"#)
            }
            let otherKey = try TestJWT.sign(Self.claims(now), key: try TestSigningKey.makeRSA(), algorithm: "RS256")
            #expect(try await login(api, otherKey).text == Self.invalidToken)
        }
    }

    @Test func claimsOutsideTheRoleAreRefusedWithOneMessage() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let key = TestSigningKey.p256(P256.Signing.PrivateKey())
        let now = harness.clock.now
        let seconds = Int(now.timeIntervalSince1970)
        try await harness.withClient { api in
            try await setUp(
                api, root: root, config: ["jwt_validation_pubkeys": [.string(key.publicKeyPEM)], "bound_issuer": "https://ci.test"],
                role: ["bound_claims": ["email": "*@ci.test", "branch": ["main", "release-*"]], "bound_claims_type": "glob"])
            func attempt(_ extra: [String: JSONValue]) async throws -> APIClient.Reply {
                try await login(api, try TestJWT.sign(Self.claims(now, extra), key: key, algorithm: "ES256"))
            }
            #expect(try await attempt(["exp": .int(seconds - 30)]).status == 200)
            #expect(try await attempt(["nbf": .int(seconds + 30), "iat": .int(seconds)]).status == 200)
            #expect(try await attempt(["aud": "leasehold", "branch": "release-2"]).status == 200)
            for extra: [String: JSONValue] in [
                ["aud": ["other"]], ["aud": "other"], ["iss": "https://evil.test"], ["exp": .int(seconds - 90)],
                ["nbf": .int(seconds + 90)], ["email": "builder@evil.test"], ["branch": "feature"], ["sub": .null],
            ] {
                let reply = try await attempt(extra)
                #expect(reply.status == 400)
                #expect(reply.text == Self.invalidToken, "\(extra)")
            }
        }
    }

    @Test func anAudienceClaimIsRefusedWhenTheRoleBindsNone() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let key = TestSigningKey.ed25519(Curve25519.Signing.PrivateKey())
        let now = harness.clock.now
        try await harness.withClient { api in
            try await setUp(
                api, root: root, config: ["jwt_validation_pubkeys": [.string(key.publicKeyPEM)]],
                role: ["bound_audiences": [], "bound_subject": "repo:shop"])
            for audience: JSONValue in ["leasehold", ["leasehold"]] {
                let reply = try await login(api, try TestJWT.sign(Self.claims(now, ["aud": audience]), key: key, algorithm: "EdDSA"))
                #expect(reply.status == 400)
                #expect(reply.text == #"{"errors":["audience claim found in JWT but no audiences bound to the role"]}"#)
            }
            #expect(try await login(api, try TestJWT.sign(Self.claims(now, ["aud": .null]), key: key, algorithm: "EdDSA")).status == 200)
            // A role with no bound constraint at all is refused.
            let unbound = try await api.send(.post, "auth/jwt/role/open", token: root, json: ["role_type": "jwt", "user_claim": "sub"])
            #expect(unbound.text == #"{"errors":["must have at least one bound constraint when creating/updating a role"]}"#)
            let longLeeway = try await api.send(.post, "auth/jwt/role/ci", token: root, json: ["expiration_leeway": 3600])
            #expect(longLeeway.status == 400)
        }
    }

    @Test func aJWKSProviderIsFetchedOnceAndRefreshedOnAnUnknownKidWithinItsRateLimit() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            let (harness, root) = try await BrokerHarness.unsealed()
            let now = harness.clock.now
            let first = TestSigningKey.p256(P256.Signing.PrivateKey())
            let rotated = TestSigningKey.p384(P384.Signing.PrivateKey())
            server.serve("/keys", json: try Self.jwks([try first.jwk(kid: "k1")]))
            try await harness.withClient { api in
                try await setUp(api, root: root, config: ["jwks_url": .string(server.baseURL + "/keys"), "jwks_ca_pem": .string(authority.certificatePEM)])
                #expect(server.requests(to: "/keys").count == 1)
                let good = try TestJWT.sign(Self.claims(now), key: first, algorithm: "ES256", header: ["kid": "k1"])
                #expect(try await login(api, good).status == 200)
                #expect(server.requests(to: "/keys").count == 1)

                // Unknown kids: one refresh, then the rate limit holds however many arrive.
                harness.clock.advance(by: 11)
                for index in 0..<5 {
                    let forged = try TestJWT.sign(Self.claims(harness.clock.now), key: rotated, algorithm: "ES384", header: ["kid": .string("x\(index)")])
                    #expect(try await login(api, forged).text == Self.invalidToken)
                }
                #expect(server.requests(to: "/keys").count == 2)

                // The provider rotates in a new key: found once the interval has passed.
                server.serve("/keys", json: try Self.jwks([try first.jwk(kid: "k1"), try rotated.jwk(kid: "k2")]))
                harness.clock.advance(by: 11)
                let next = try TestJWT.sign(Self.claims(harness.clock.now), key: rotated, algorithm: "ES384", header: ["kid": "k2"])
                let reply = try await login(api, next)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(server.requests(to: "/keys").count == 3)
            }
        }
    }

    @Test func unreachableOrUntrustedProvidersAreRefusedAtConfigurationTime() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            let (harness, root) = try await BrokerHarness.unsealed()
            server.serve("/keys", json: try Self.jwks([try TestSigningKey.p256(P256.Signing.PrivateKey()).jwk(kid: "k1")]))
            server.serve("/.well-known/openid-configuration", json: #"{"issuer":"https://elsewhere.test","jwks_uri":"\#(server.baseURL)/keys"}"#)
            try await harness.withClient { api in
                #expect(try await api.send(.post, "sys/auth/jwt", token: root, json: ["type": "jwt"]).status == 204)
                for config: [String: JSONValue] in [
                    ["jwks_url": "https://127.0.0.1:1/keys"], ["jwks_url": .string(server.baseURL + "/missing"), "jwks_ca_pem": .string(authority.certificatePEM)],
                ] {
                    let reply = try await api.send(.post, "auth/jwt/config", token: root, json: .object(config))
                    #expect(reply.status == 400)
                    #expect(reply.text == #"{"errors":["error checking jwks URL"]}"#)
                }
                let discovery = try await api.send(
                    .post, "auth/jwt/config", token: root,
                    json: ["oidc_discovery_url": .string(server.baseURL), "oidc_discovery_ca_pem": .string(authority.certificatePEM)])
                #expect(discovery.text == #"{"errors":["error checking oidc discovery URL"]}"#)
                let both = try await api.send(.post, "auth/jwt/config", token: root, json: ["jwks_url": "https://a.test", "jwt_validation_pubkeys": ["x"]])
                #expect(both.status == 400)
                let hmac = try await api.send(.post, "auth/jwt/config", token: root, json: ["jwks_url": "https://a.test", "jwt_supported_algs": ["HS256"]])
                #expect(hmac.text == #"{"errors":["unsupported signing algorithm \"HS256\""]}"#)
                #expect(try await api.send(.post, "auth/jwt/login", json: ["role": "ci", "jwt": "a.b.c"]).text == #"{"errors":["could not load configuration"]}"#)
            }
        }
    }

    @Test func oidcDiscoveryFindsTheProvidersKeysAndIssuer() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            let (harness, root) = try await BrokerHarness.unsealed()
            let now = harness.clock.now
            let key = try TestSigningKey.makeRSA()
            server.serve("/jwks", json: try Self.jwks([try key.jwk(kid: "r1", alg: "PS256")]))
            server.serve("/.well-known/openid-configuration", json: #"{"issuer":"\#(server.baseURL)","jwks_uri":"\#(server.baseURL)/jwks"}"#)
            try await harness.withClient { api in
                try await setUp(
                    api, root: root, config: ["oidc_discovery_url": .string(server.baseURL), "oidc_discovery_ca_pem": .string(authority.certificatePEM)],
                    type: "oidc")
                let issued = Self.claims(now, ["iss": .string(server.baseURL)])
                let reply = try await login(api, try TestJWT.sign(issued, key: key, algorithm: "PS256", header: ["kid": "r1"]))
                #expect(reply.status == 200, "\(reply.text)")
                // The discovered issuer is enforced, and the key's pinned algorithm too.
                #expect(try await login(api, try TestJWT.sign(Self.claims(now), key: key, algorithm: "PS256", header: ["kid": "r1"])).text == Self.invalidToken)
                #expect(try await login(api, try TestJWT.sign(issued, key: key, algorithm: "RS256", header: ["kid": "r1"])).text == Self.invalidToken)
                #expect(try await api.send(.get, "auth/jwt/config", token: root).data["oidc_discovery_url"] == .string(server.baseURL))
            }
        }
    }

    @Test func repeatedFailuresAreThrottledPerRoleAndAddress() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let key = TestSigningKey.p256(P256.Signing.PrivateKey())
        let now = harness.clock.now
        try await harness.withClient { api in
            try await setUp(api, root: root, config: ["jwt_validation_pubkeys": [.string(key.publicKeyPEM)]])
            let bad = try TestJWT.sign(Self.claims(now, ["aud": "other"]), key: key, algorithm: "ES256")
            // Role names are case-insensitive, so their spellings share one failure budget.
            for spelling in ["ci", "CI", "Ci", "cI", "ci", "CI", "Ci", "cI", "ci", "CI"] {
                #expect(try await login(api, bad, role: spelling).status == 400)
            }
            let good = try TestJWT.sign(Self.claims(now), key: key, algorithm: "ES256")
            #expect(try await login(api, good).status == 429)
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            #expect(records.filter { $0.event.path == "auth/jwt/login" && $0.event.outcome == "error" }.count == 11)
        }
    }

    /// The audit row of a login names the role tried only when it is a role: a token pasted into `role` never
    /// reaches the audit table.
    @Test func aTokenPastedIntoTheRoleFieldIsNotAudited() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let key = TestSigningKey.p256(P256.Signing.PrivateKey())
        try await harness.withClient { api in
            try await setUp(api, root: root, config: ["jwt_validation_pubkeys": [.string(key.publicKeyPEM)]])
            let token = try TestJWT.sign(Self.claims(harness.clock.now), key: key, algorithm: "ES256")
            let pasted = String(token.split(separator: ".")[1].prefix(100))
            #expect(try await login(api, token, role: pasted).status == 400)
            #expect(try await login(api, token).status == 200)
            let rows = try await harness.store.auditRecords(after: 0, limit: 10_000).filter { $0.event.path == "auth/jwt/login" }
            #expect(rows.map { $0.event.details["login_role"] } == [nil, "ci"])
            let text = try rows.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!text.contains(pasted))
        }
    }

    static func jwks(_ keys: [JSONValue]) throws -> String {
        String(decoding: try JSONEncoder().encode(JSONValue.object(["keys": .array(keys)])), as: UTF8.self)
    }
}
