import AsyncHTTPClient
import Foundation
import LeaseholdAuth
import LeaseholdCore
import LeaseholdHTTP
@testable import LeaseholdService
import LeaseholdTestSupport
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// A live TLS listener that asks for client certificates (no client CA: `auth/cert` verifies them), and an HTTPS
/// client that presents a chosen certificate.
struct MutualTLSFixture {
    let authority: TestCertificateAuthority
    let directory: URL
    let listener: ListenerCertificates

    init() throws {
        authority = try TestCertificateAuthority(commonName: "Leasehold listener CA")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("leasehold-mtls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files = try authority.issueServer().write(to: directory, name: "server")
        listener = try ListenerCertificates(settings: ListenerTLSSettings(certificateFile: files.certificate, keyFile: files.key))
    }

    struct Reply {
        let status: Int
        let json: [String: JSONValue]
        var text: String
        var auth: [String: JSONValue] { json["auth"]?.objectValue ?? [:] }
        var data: [String: JSONValue] { json["data"]?.objectValue ?? [:] }
        var clientToken: String { auth["client_token"]?.stringValue ?? "" }
    }

    /// Sends one request over TLS on `port`, presenting `certificate` when given.
    func send(
        port: Int, _ method: HTTPMethod, _ path: String, token: String? = nil, json: JSONValue? = nil,
        certificate: IssuedCertificate? = nil
    ) async throws -> Reply {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(authority.certificatePEM.utf8), format: .pem)])
        if let certificate {
            tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: certificate.derBytes, format: .der))]
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        defer { _ = client.shutdown() }
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/\(path)")
        request.method = method
        if let token { request.headers.add(name: "X-Vault-Token", value: token) }
        if let json { request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(json))) }
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let text = String(buffer: body)
        let parsed = text.isEmpty ? nil : try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        return Reply(status: Int(response.status.code), json: parsed?.objectValue ?? [:], text: text)
    }
}

@Suite("Auth method: TLS certificates (mTLS)", .serialized)
struct CertAuthTests {
    /// Runs `body` against a live mutual-TLS listener, with `auth/cert` enabled and entry `web` trusting `trusted`.
    func withCertAuth(
        trusting trusted: String, entry: [String: JSONValue] = [:],
        _ body: @Sendable (MutualTLSFixture, Int, String, BrokerHarness) async throws -> Void
    ) async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let fixture = try MutualTLSFixture()
        try await harness.withLiveListener(certificates: fixture.listener) { port in
            let reply1 = try await fixture.send(port: port, .POST, "sys/auth/cert", token: root, json: ["type": "cert"])
            #expect(reply1.status == 204, "\(reply1.text)")
            var fields: [String: JSONValue] = ["certificate": .string(trusted), "token_policies": ["app"], "token_ttl": "10m"]
            fields.merge(entry) { _, new in new }
            let written = try await fixture.send(port: port, .POST, "auth/cert/certs/web", token: root, json: .object(fields))
            #expect(written.status == 204, "\(written.text)")
            try await body(fixture, port, root, harness)
        }
    }

    @Test func loginWithATrustedCertificateIssuesATokenWithCertificateMetadata() async throws {
        let authority = try TestCertificateAuthority(commonName: "Workload CA")
        let client = try authority.issue(commonName: "web-1", uris: ["spiffe://prod/web"])
        try await withCertAuth(trusting: authority.certificatePEM, entry: ["allowed_uri_sans": ["spiffe://prod/*"], "environment": "prod"]) { fixture, port, root, _ in
            let login = try await fixture.send(port: port, .PUT, "auth/cert/login", json: ["name": "web"], certificate: client)
            #expect(login.status == 200, "\(login.text)")
            #expect(login.auth["policies"] == .strings(["app", "default"]))
            let metadata = login.auth["metadata"]?.objectValue ?? [:]
            #expect(metadata["cert_name"] == "web")
            #expect(metadata["common_name"] == "web-1")
            #expect(metadata["serial_number"]?.stringValue?.isEmpty == false)
            // Without a name, every entry is tried.
            let unnamed = try await fixture.send(port: port, .PUT, "auth/cert/login", json: [:], certificate: client)
            #expect(unnamed.status == 200)
            let lookup = try await fixture.send(port: port, .GET, "auth/token/lookup-self", token: login.clientToken)
            #expect(lookup.data["environment"] == "prod")
            let read = try await fixture.send(port: port, .GET, "auth/cert/certs/web", token: root)
            #expect(read.data["allowed_uri_sans"] == .strings(["spiffe://prod/*"]))
        }
    }

    @Test func emailConstraintsAreEnforcedAndUnsupportedRestrictionsAreRefused() async throws {
        let authority = try TestCertificateAuthority(commonName: "Workload CA")
        let payments = try authority.issue(commonName: "web-1", emailAddresses: ["web@payments.example"])
        let billing = try authority.issue(commonName: "web-1", emailAddresses: ["web@billing.example"])
        try await withCertAuth(trusting: authority.certificatePEM, entry: ["allowed_email_sans": "*@payments.example"]) { fixture, port, root, _ in
            let read = try await fixture.send(port: port, .GET, "auth/cert/certs/web", token: root)
            #expect(read.data["allowed_email_sans"] == .strings(["*@payments.example"]))
            let allowed = try await fixture.send(port: port, .PUT, "auth/cert/login", json: ["name": "web"], certificate: payments)
            #expect(allowed.status == 200, "\(allowed.text)")
            let refused = try await fixture.send(port: port, .PUT, "auth/cert/login", json: ["name": "web"], certificate: billing)
            #expect(refused.status == 400, "\(refused.text)")
            #expect(refused.clientToken.isEmpty)
            // Restrictions Leasehold does not implement are refused rather than silently ignored, and the entry keeps
            // what it had.
            for (field, value) in [
                ("required_extensions", JSONValue.strings(["1.2.3.4:*"])), ("allowed_metadata_extensions", .strings(["1.2.3.4"])),
                ("ocsp_enabled", .bool(true)),
            ] {
                let write = try await fixture.send(port: port, .POST, "auth/cert/certs/web", token: root, json: [field: value])
                #expect(write.status == 400, "\(field): \(write.text)")
            }
            let after = try await fixture.send(port: port, .GET, "auth/cert/certs/web", token: root)
            #expect(after.data["allowed_email_sans"] == .strings(["*@payments.example"]))
            // The deprecated allowed_names is a constraint of its own, checked with allowed_common_names: a
            // certificate must satisfy both.
            let both = try await fixture.send(
                port: port, .POST, "auth/cert/certs/web", token: root,
                json: ["allowed_names": ["web@payments.example"], "allowed_common_names": ["api-*"]])
            #expect(both.status == 204, "\(both.text)")
            let reread = try await fixture.send(port: port, .GET, "auth/cert/certs/web", token: root)
            #expect(reread.data["allowed_names"] == .strings(["web@payments.example"]))
            let wrongName = try await fixture.send(port: port, .PUT, "auth/cert/login", json: ["name": "web"], certificate: payments)
            #expect(wrongName.status == 400, "the common name is not api-*: \(wrongName.text)")
            #expect(try await fixture.send(port: port, .POST, "auth/cert/certs/web", token: root, json: ["allowed_common_names": []]).status == 204)
            let byEmail = try await fixture.send(port: port, .PUT, "auth/cert/login", json: ["name": "web"], certificate: payments)
            #expect(byEmail.status == 200, "allowed_names matched through the email SAN: \(byEmail.text)")
        }
    }

    @Test func loginWithoutAClientCertificateSaysSo() async throws {
        let authority = try TestCertificateAuthority()
        try await withCertAuth(trusting: authority.certificatePEM) { fixture, port, _, harness in
            let reply = try await fixture.send(port: port, .PUT, "auth/cert/login", json: ["name": "web"])
            #expect(reply.status == 400)
            #expect(reply.text == "{\"errors\":[\"no client certificate found\"]}")
            // Over plain HTTP as well.
            try await harness.withClient { api in
                let plain = try await api.send(.put, "auth/cert/login", json: ["name": "web"])
                #expect(plain.status == 400)
                #expect(plain.errors == ["no client certificate found"])
            }
        }
    }

    @Test func untrustedExpiredAndWrongUsageCertificatesAreRefusedAlike() async throws {
        let authority = try TestCertificateAuthority(commonName: "Workload CA")
        let other = try TestCertificateAuthority(commonName: "Other CA")
        let refused = [
            try other.issue(commonName: "web-1"),
            try authority.issue(commonName: "web-1", notValidBefore: Date() - 7200, notValidAfter: Date() - 60),
            try authority.issue(commonName: "web-1", notValidBefore: Date() + 3600, notValidAfter: Date() + 7200),
            try authority.issue(commonName: "web-1", usages: [.serverAuth]),
            try authority.issue(commonName: "api-1"),
        ]
        try await withCertAuth(trusting: authority.certificatePEM, entry: ["allowed_common_names": ["web-*"]]) { fixture, port, _, harness in
            for certificate in refused {
                let reply = try await fixture.send(port: port, .PUT, "auth/cert/login", json: ["name": "web"], certificate: certificate)
                #expect(reply.status == 400)
                #expect(reply.text == "{\"errors\":[\"invalid certificate or no client certificate supplied\"]}")
            }
            let failures = try await harness.store.auditRecords(after: 0, limit: 10_000).filter { $0.event.path == "auth/cert/login" && $0.event.outcome == "error" }
            #expect(failures.count == refused.count)
        }
    }

    /// `name` is client input that became a throttle key (and a store lookup) at any length: a few hundred logins
    /// with megabytes of name each held gigabytes. A name that cannot name an entry is refused before either.
    @Test func aNameThatCannotNameAnEntryIsRefusedBeforeTheThrottleKeepsIt() async throws {
        let authority = try TestCertificateAuthority()
        let stranger = try TestCertificateAuthority(commonName: "Self-signed").issue(commonName: "anyone")
        try await withCertAuth(trusting: authority.certificatePEM) { fixture, port, _, harness in
            for name in [String(repeating: "n", count: 129), String(repeating: "x", count: 1 << 19), "web/../x", "wéb"] {
                let reply = try await fixture.send(port: port, .PUT, "auth/cert/login", json: ["name": .string(name)], certificate: stranger)
                #expect(reply.status == 400)
                #expect(reply.text == "{\"errors\":[\"invalid certificate or no client certificate supplied\"]}")
            }
            #expect(await harness.broker.loginThrottle.trackedKeys == 0)
        }
    }

    @Test func aPinnedLeafIsMatchedByteForByteNotBySubjectOrKey() async throws {
        let authority = try TestCertificateAuthority()
        let pinned = try authority.issue(commonName: "pinned", selfSigned: true)
        let sameSubject = try authority.issue(commonName: "pinned", selfSigned: true)
        let sameKey = try authority.issue(commonName: "pinned", key: pinned.privateKey, selfSigned: true)
        try await withCertAuth(trusting: pinned.certificatePEM) { fixture, port, _, _ in
            let reply2 = try await fixture.send(port: port, .PUT, "auth/cert/login", json: [:], certificate: pinned)
            #expect(reply2.status == 200, "\(reply2.text)")
            for impostor in [sameSubject, sameKey] {
                let reply3 = try await fixture.send(port: port, .PUT, "auth/cert/login", json: [:], certificate: impostor)
                #expect(reply3.status == 400, "\(reply3.text)")
            }
        }
    }

    @Test func aRenewalMustPresentTheSameCertificate() async throws {
        let authority = try TestCertificateAuthority()
        let first = try authority.issue(commonName: "web")
        let second = try authority.issue(commonName: "web")
        try await withCertAuth(trusting: authority.certificatePEM) { fixture, port, _, _ in
            let token = try await fixture.send(port: port, .PUT, "auth/cert/login", json: [:], certificate: first).clientToken
            let withOther = try await fixture.send(port: port, .PUT, "auth/token/renew-self", token: token, json: [:], certificate: second)
            #expect(withOther.status == 403)
            let withNone = try await fixture.send(port: port, .PUT, "auth/token/renew-self", token: token, json: [:])
            #expect(withNone.status == 403)
            let withSame = try await fixture.send(port: port, .PUT, "auth/token/renew-self", token: token, json: [:], certificate: first)
            #expect(withSame.status == 200, "\(withSame.text)")
        }
    }

    @Test func aRevokedCertificateIsRefusedOnceItsCRLIsLoaded() async throws {
        let authority = try TestCertificateAuthority()
        let client = try authority.issue(commonName: "web")
        try await withCertAuth(trusting: authority.certificatePEM) { fixture, port, root, _ in
            let reply4 = try await fixture.send(port: port, .PUT, "auth/cert/login", json: [:], certificate: client)
            #expect(reply4.status == 200, "\(reply4.text)")
            let crl = try authority.makeCRL(revoking: [client])
            let written = try await fixture.send(port: port, .POST, "auth/cert/crls/main", token: root, json: ["crl": .string(crl)])
            #expect(written.status == 204, "\(written.text)")
            let reply5 = try await fixture.send(port: port, .PUT, "auth/cert/login", json: [:], certificate: client)
            #expect(reply5.status == 400, "\(reply5.text)")
            // A token it obtained before cannot be renewed with it any more (it could, up to its maximum TTL).
            let renewal = try await fixture.send(port: port, .PUT, "auth/token/renew-self", token: reply4.clientToken, json: [:], certificate: client)
            #expect(renewal.status == 403)
            #expect(renewal.text == "{\"errors\":[\"the client certificate is no longer accepted; not renewing\"]}")
            let garbage = try await fixture.send(port: port, .POST, "auth/cert/crls/bad", token: root, json: ["crl": "not a crl"])
            #expect(garbage.status == 400)
        }
    }

    @Test func directMutualTLSAuthenticatesOneRequestOnlyWhenTheEntryAllowsIt() async throws {
        let authority = try TestCertificateAuthority()
        let client = try authority.issue(commonName: "web")
        let stranger = try TestCertificateAuthority(commonName: "Other").issue(commonName: "web")
        try await withCertAuth(trusting: authority.certificatePEM, entry: ["token_policies": ["reader"]]) { fixture, port, root, harness in
            let policy = "path \"sys/policies/acl\" { capabilities = [\"list\"] }"
            let reply6 = try await fixture.send(port: port, .PUT, "sys/policies/acl/reader", token: root, json: ["policy": .string(policy)])
            #expect(reply6.status == 204, "\(reply6.text)")
            // Not enabled on the entry: no identity, so default deny.
            let reply7 = try await fixture.send(port: port, .GET, "sys/policies/acl?list=true", certificate: client)
            #expect(reply7.status == 403, "\(reply7.text)")
            let enabled = try await fixture.send(port: port, .POST, "auth/cert/certs/web", token: root, json: ["direct_authentication": true])
            #expect(enabled.status == 204)
            let direct = try await fixture.send(port: port, .GET, "sys/policies/acl?list=true", certificate: client)
            #expect(direct.status == 200, "\(direct.text)")
            // Only what the entry's policies grant, and nothing for an untrusted certificate.
            let reply8 = try await fixture.send(port: port, .GET, "sys/mounts", certificate: client)
            #expect(reply8.status == 403, "\(reply8.text)")
            let reply9 = try await fixture.send(port: port, .GET, "sys/policies/acl?list=true", certificate: stranger)
            #expect(reply9.status == 403, "\(reply9.text)")
            // Token endpoints need a real token.
            let reply10 = try await fixture.send(port: port, .GET, "auth/token/lookup-self", certificate: client)
            #expect(reply10.status == 403, "\(reply10.text)")
            // The entry's source-address bounds apply to direct requests too (the client is on 127.0.0.1).
            #expect(try await fixture.send(port: port, .POST, "auth/cert/certs/web", token: root, json: ["token_bound_cidrs": ["10.0.0.0/8"]]).status == 204)
            #expect(try await fixture.send(port: port, .GET, "sys/policies/acl?list=true", certificate: client).status == 403)
            #expect(try await fixture.send(port: port, .POST, "auth/cert/certs/web", token: root, json: ["token_bound_cidrs": ["127.0.0.0/8"]]).status == 204)
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            let directRows = records.filter { $0.event.path == "sys/policies/acl/" && $0.event.outcome == "allowed" && $0.event.actor.displayName == "cert-web" }
            #expect(!directRows.isEmpty)
            // Each certificate is its own identity (accessor), and the row names the certificate.
            let fingerprint = ClientCertificateVerifier.fingerprint(of: client.derBytes)
            let accessor = "cert-direct-" + String(fingerprint.prefix(32))
            for row in directRows {
                #expect(row.event.actor.authMethod == "cert")
                #expect(row.event.actor.accessor == accessor)
                #expect(row.event.details["certificate_fingerprint"] == fingerprint)
            }
        }
    }
}
