import Crypto
import Foundation
import LeaseholdCore
import LeaseholdTestSupport
import Synchronization
import Testing

@Suite("Auth method: Kubernetes")
struct KubernetesAuthTests {
    static let denied = #"{"errors":["permission denied"]}"#
    static let reviewPath = "/apis/authentication.k8s.io/v1/tokenreviews"
    static let reviewerJWT = "reviewer-jwt-secret-0123456789"

    /// A projected service-account token's claims, valid at `now`.
    static func claims(
        _ now: Date, namespace: String = "apps", name: String = "web", uid: String = "uid-1", audience: JSONValue = ["leasehold"]
    ) -> [String: JSONValue] {
        let seconds = Int(now.timeIntervalSince1970)
        return [
            "iss": "https://kubernetes.default.svc", "sub": .string("system:serviceaccount:\(namespace):\(name)"), "aud": audience,
            "iat": .int(seconds), "nbf": .int(seconds), "exp": .int(seconds + 600),
            "kubernetes.io": ["namespace": .string(namespace), "serviceaccount": ["name": .string(name), "uid": .string(uid)]],
        ]
    }

    /// A TokenReview API that authenticates the service account the token names, echoing the requested audiences;
    /// `answer` can override the status.
    static func serveReviews(_ server: IdentityProviderServer, answer: (@Sendable ([String: JSONValue]) -> JSONValue)? = nil) {
        server.handle(reviewPath) { request in
            let review = (try? JSONDecoder().decode(JSONValue.self, from: Data(request.body)))?.objectValue ?? [:]
            let spec = review["spec"]?.objectValue ?? [:]
            var status: JSONValue = ["authenticated": false]
            if let token = spec["token"]?.stringValue, let payload = token.split(separator: ".").dropFirst().first,
                let data = Data(base64Encoded: Self.padded(String(payload))),
                let claims = (try? JSONDecoder().decode(JSONValue.self, from: data))?.objectValue,
                let subject = claims["sub"]?.stringValue,
                let uid = claims["kubernetes.io"]?.objectValue?["serviceaccount"]?.objectValue?["uid"]
            {
                var audiences = spec["audiences"] ?? claims["aud"] ?? []
                if case .string = audiences { audiences = [audiences] }
                status = ["authenticated": true, "user": ["username": .string(subject), "uid": uid], "audiences": audiences]
            }
            if let answer { status = answer(status.objectValue ?? [:]) }
            let body: JSONValue = ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status]
            return (201, Array((try? JSONEncoder().encode(body)) ?? Data()))
        }
    }

    static func padded(_ base64URL: String) -> String {
        let base64 = base64URL.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        return base64 + String(repeating: "=", count: (4 - base64.count % 4) % 4)
    }

    func setUp(_ api: APIClient, root: String, config: [String: JSONValue], role: [String: JSONValue] = [:]) async throws {
        #expect(try await api.send(.post, "sys/auth/kubernetes", token: root, json: ["type": "kubernetes"]).status == 204)
        let configured = try await api.send(.post, "auth/kubernetes/config", token: root, json: .object(config))
        #expect(configured.status == 204 || configured.status == 200, "\(configured.text)")
        var fields: [String: JSONValue] = [
            "bound_service_account_names": ["web", "api-*"], "bound_service_account_namespaces": ["apps", "team-*"],
            "audience": "leasehold", "token_policies": ["app"], "environment": "prod",
        ]
        fields.merge(role) { _, new in new }
        let written = try await api.send(.post, "auth/kubernetes/role/apps", token: root, json: .object(fields))
        #expect(written.status == 204, "\(written.text)")
    }

    func login(_ api: APIClient, _ jwt: String, role: String = "apps") async throws -> APIClient.Reply {
        try await api.send(.post, "auth/kubernetes/login", json: ["role": .string(role), "jwt": .string(jwt)])
    }

    @Test func loginBeforeConfigurationIsAServerError() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/auth/kubernetes", token: root, json: ["type": "kubernetes"]).status == 204)
            let reply = try await login(api, "a.b.c")
            #expect(reply.status == 500)
            #expect(reply.text == #"{"errors":["could not load backend configuration"]}"#)
        }
    }

    @Test func theTokenReviewAPIAuthenticatesTheServiceAccountWithTheReviewerJWT() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            Self.serveReviews(server)
            let (harness, root) = try await BrokerHarness.unsealed()
            let signer = try TestSigningKey.makeRSA()
            try await harness.withClient { api in
                try await setUp(api, root: root, config: [
                    "kubernetes_host": .string(server.baseURL), "kubernetes_ca_cert": .string(authority.certificatePEM),
                    "token_reviewer_jwt": .string(Self.reviewerJWT),
                ])
                let jwt = try TestJWT.sign(Self.claims(harness.clock.now), key: signer, algorithm: "RS256")
                let reply = try await login(api, jwt)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.auth["metadata"] == [
                    "service_account_namespace": "apps", "service_account_name": "web", "service_account_uid": "uid-1", "role": "apps",
                ])
                let lookup = try await api.send(.get, "auth/token/lookup-self", token: reply.clientToken)
                #expect(lookup.data["environment"] == "prod")
                #expect(lookup.data["display_name"] == "kubernetes-uid-1")

                let reviews = server.requests(to: Self.reviewPath)
                #expect(reviews.count == 1)
                #expect(reviews.first?.authorization == "Bearer " + Self.reviewerJWT)
                let sent = try JSONDecoder().decode(JSONValue.self, from: Data(reviews.first?.body ?? []))
                #expect(sent.objectValue?["spec"]?.objectValue?["audiences"] == ["leasehold"])
                #expect(sent.objectValue?["spec"]?.objectValue?["token"] == .string(jwt))

                // The reviewer JWT is never returned, never audited, and never stored in plaintext.
                let config = try await api.send(.get, "auth/kubernetes/config", token: root)
                #expect(config.data["token_reviewer_jwt_set"] == true)
                #expect(!config.text.contains(Self.reviewerJWT))
                let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
                let everything = try records.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
                #expect(!everything.contains(Self.reviewerJWT))
                #expect(!everything.contains(jwt.split(separator: ".")[2]))
                let stored = try #require(try await harness.store.entry(StoreKey(.kubernetesConfigs, "kubernetes/")))
                #expect(!String(decoding: stored.value, as: UTF8.self).contains(Self.reviewerJWT))
            }
        }
    }

    @Test func withoutAReviewerJWTTheClientsOwnTokenIsTheBearer() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            Self.serveReviews(server)
            let (harness, root) = try await BrokerHarness.unsealed()
            try await harness.withClient { api in
                try await setUp(
                    api, root: root, config: ["kubernetes_host": .string(server.baseURL), "kubernetes_ca_cert": .string(authority.certificatePEM)],
                    role: ["audience": ""])
                let jwt = try TestJWT.sign(Self.claims(harness.clock.now, audience: "https://kubernetes.default.svc"), key: try .makeRSA(), algorithm: "RS256")
                #expect(try await login(api, jwt).status == 200)
                let review = try #require(server.requests(to: Self.reviewPath).first)
                #expect(review.authorization == "Bearer " + jwt)
                #expect(try JSONDecoder().decode(JSONValue.self, from: Data(review.body)).objectValue?["spec"]?.objectValue?["audiences"] == nil)
                #expect(try await api.send(.get, "auth/kubernetes/config", token: root).data["token_reviewer_jwt_set"] == false)
            }
        }
    }

    @Test func unboundNamesNamespacesAudiencesAndRefusedReviewsAreDenied() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            let verdict = Mutex<String>("allow")
            Self.serveReviews(server) { status in
                var status = status
                switch verdict.withLock({ $0 }) {
                case "unauthenticated": status["authenticated"] = false
                case "no-audience": status["audiences"] = []
                case "recreated": status["user"] = ["username": "system:serviceaccount:apps:web", "uid": "uid-2"]
                default: break
                }
                return .object(status)
            }
            let (harness, root) = try await BrokerHarness.unsealed()
            let signer = try TestSigningKey.makeRSA()
            try await harness.withClient { api in
                try await setUp(api, root: root, config: [
                    "kubernetes_host": .string(server.baseURL), "kubernetes_ca_cert": .string(authority.certificatePEM),
                    "token_reviewer_jwt": .string(Self.reviewerJWT),
                ])
                let now = harness.clock.now
                func token(_ namespace: String, _ name: String, audience: JSONValue = ["leasehold"]) throws -> String {
                    try TestJWT.sign(Self.claims(now, namespace: namespace, name: name, audience: audience), key: signer, algorithm: "RS256")
                }
                for (namespace, name) in [("team-a", "api-x"), ("team-", "api-"), ("apps", "web")] {
                    #expect(try await login(api, try token(namespace, name)).status == 200, "\(namespace)/\(name)")
                }
                let refused: [(String, String, JSONValue)] = [
                    ("teams", "web", ["leasehold"]), ("default", "web", ["leasehold"]), ("apps", "web2", ["leasehold"]),
                    ("apps", "xapi-1", ["leasehold"]), ("apps", "web", ["other"]), ("apps", "web", "https://kubernetes.default.svc"),
                ]
                for (namespace, name, audience) in refused {
                    let reply = try await login(api, try token(namespace, name, audience: audience))
                    #expect(reply.status == 403, "\(namespace)/\(name)")
                    #expect(reply.text == Self.denied)
                }
                for answer in ["unauthenticated", "no-audience", "recreated"] {
                    verdict.withLock { $0 = answer }
                    let reply = try await login(api, try token("apps", "web"))
                    #expect(reply.status == 403, "\(answer)")
                    #expect(reply.text == Self.denied)
                }
                // An unknown role is Vault's 400, not a denial.
                #expect(try await login(api, try token("apps", "web"), role: "nope").text == #"{"errors":["invalid role name \"nope\""]}"#)
            }
        }
    }

    @Test func aTokenReviewServerWithACertificateFromAnotherCAIsNotTrusted() async throws {
        let authority = try TestCertificateAuthority()
        let impostor = try TestCertificateAuthority(commonName: "Impostor CA")
        try await IdentityProviderServer.run(certificate: try impostor.issueServer()) { server in
            Self.serveReviews(server)
            let (harness, root) = try await BrokerHarness.unsealed()
            try await harness.withClient { api in
                try await setUp(api, root: root, config: [
                    "kubernetes_host": .string(server.baseURL), "kubernetes_ca_cert": .string(authority.certificatePEM),
                    "token_reviewer_jwt": .string(Self.reviewerJWT),
                ])
                let jwt = try TestJWT.sign(Self.claims(harness.clock.now), key: try .makeRSA(), algorithm: "RS256")
                // An API server that cannot be verified is unreachable, not a denial: 500, so clients retry, and
                // not counted against the pod's failed-login limit.
                for _ in 0..<12 {
                    let reply = try await login(api, jwt)
                    #expect(reply.status == 500)
                    #expect(reply.text == "{\"errors\":[\"error validating token: the identity provider could not be reached\"]}")
                }
                #expect(server.requests(to: Self.reviewPath).isEmpty)
            }
        }
    }

    @Test func offlinePEMKeysVerifyTokensWithoutAnAPIServer() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let key = TestSigningKey.p256(P256.Signing.PrivateKey())
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/auth/kubernetes", token: root, json: ["type": "kubernetes"]).status == 204)
            let configured = try await api.send(
                .post, "auth/kubernetes/config", token: root,
                json: ["pem_keys": [.string(key.publicKeyPEM)], "issuer": "https://kubernetes.default.svc", "disable_iss_validation": false])
            #expect(configured.status == 200)
            #expect(configured.object["warnings"] != nil)
            try await api.send(.post, "auth/kubernetes/role/apps", token: root, json: [
                "bound_service_account_names": ["web"], "bound_service_account_namespaces": ["*"], "audience": "leasehold",
                "alias_name_source": "serviceaccount_name",
            ])
            let now = harness.clock.now
            let good = try TestJWT.sign(Self.claims(now), key: key, algorithm: "ES256")
            let reply = try await login(api, good)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(try await api.send(.get, "auth/token/lookup-self", token: reply.clientToken).data["display_name"] == "kubernetes-apps/web")
            // Renewal finds the role the token logged in with, and refuses once it is gone.
            let renewed = try await api.send(.put, "auth/token/renew-self", token: reply.clientToken, json: [:])
            #expect(renewed.status == 200, "\(renewed.text)")
            #expect(try await api.send(.delete, "auth/kubernetes/role/apps", token: root).status == 204)
            let orphaned = try await api.send(.put, "auth/token/renew-self", token: reply.clientToken, json: [:])
            #expect(orphaned.errors == ["the role, user or certificate entry of this login no longer exists; not renewing"])
            try await api.send(.post, "auth/kubernetes/role/apps", token: root, json: [
                "bound_service_account_names": ["web"], "bound_service_account_namespaces": ["*"], "audience": "leasehold",
                "alias_name_source": "serviceaccount_name",
            ])

            var expired = Self.claims(now)
            expired["exp"] = .int(Int(now.timeIntervalSince1970) - 120)
            var wrongIssuer = Self.claims(now)
            wrongIssuer["iss"] = "kubernetes/serviceaccount"
            for jwt in [
                try TestJWT.sign(Self.claims(now), key: .p256(P256.Signing.PrivateKey()), algorithm: "ES256"),
                try TestJWT.sign(expired, key: key, algorithm: "ES256"), try TestJWT.sign(wrongIssuer, key: key, algorithm: "ES256"),
                try TestJWT.hs256(Self.claims(now), secret: key.publicKeyPEMBytes), "x.y.z",
            ] {
                let refused = try await login(api, jwt)
                #expect(refused.status == 403)
                #expect(refused.text == Self.denied)
            }
        }
    }

    @Test func rolesNeedBothBindingsAndValidConfigurationIsRequired() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/auth/kubernetes", token: root, json: ["type": "kubernetes"]).status == 204)
            let noNamespaces = try await api.send(.post, "auth/kubernetes/role/r", token: root, json: ["bound_service_account_names": ["web"]])
            #expect(noNamespaces.text == #"{"errors":["\"bound_service_account_namespaces\" can not be empty"]}"#)
            let mixed = try await api.send(
                .post, "auth/kubernetes/role/r", token: root,
                json: ["bound_service_account_names": ["*", "web"], "bound_service_account_namespaces": ["apps"]])
            #expect(mixed.text == #"{"errors":["can not mix \"*\" with values"]}"#)
            #expect(try await api.send(.post, "auth/kubernetes/config", token: root, json: ["kubernetes_host": "http://k8s.test"]).status == 400)
            #expect(try await api.send(.post, "auth/kubernetes/config", token: root, json: [:]).status == 400)
            let badCA = try await api.send(
                .post, "auth/kubernetes/config", token: root, json: ["kubernetes_host": "https://k8s.test", "kubernetes_ca_cert": "junk"])
            #expect(badCA.text == #"{"errors":["kubernetes_ca_cert is not a valid PEM certificate bundle"]}"#)

            let valid = try await api.send(
                .post, "auth/kubernetes/role/r", token: root,
                json: ["bound_service_account_names": ["web"], "bound_service_account_namespaces": ["apps"], "token_ttl": "10m"])
            #expect(valid.status == 204)
            let read = try await api.send(.get, "auth/kubernetes/role/r", token: root)
            #expect(read.data["alias_name_source"] == "serviceaccount_uid")
            #expect(read.data["token_ttl"] == 600)
            #expect(try await api.send(.list, "auth/kubernetes/role", token: root).data["keys"] == .strings(["r"]))
            #expect(try await api.send(.delete, "auth/kubernetes/role/r", token: root).status == 204)
            #expect(try await api.send(.get, "auth/kubernetes/role/r", token: root).status == 404)
            #expect(try await api.send(.list, "auth/kubernetes/role", token: root).status == 404)
        }
    }
}
