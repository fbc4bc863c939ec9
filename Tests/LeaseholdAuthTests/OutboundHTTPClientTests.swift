import LeaseholdAuth
import LeaseholdTestSupport
import Testing

@Suite("Outbound HTTPS to identity providers")
struct OutboundHTTPClientTests {
    @Test("plain http and malformed URLs are refused before any connection")
    func refusesPlaintextAndMalformedURLs() async throws {
        let client = OutboundHTTPClient()
        for url in ["http://127.0.0.1:1/keys", "ftp://example.com/x", "not a url", "https://"] {
            let error = await #expect(throws: OutboundHTTPError.self) { _ = try await client.get(url) }
            #expect(error?.description == "the URL must be an https:// URL", "\(url)")
        }
    }

    @Test("an invalid CA PEM is refused")
    func refusesInvalidCA() async throws {
        let error = await #expect(throws: OutboundHTTPError.self) {
            _ = try await OutboundHTTPClient().get("https://127.0.0.1:1/", trustedCAPEM: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        }
        #expect(error?.description == "the CA certificate is not valid PEM")
    }

    @Test("an unreachable provider fails within the deadline")
    func unreachableProviderFailsFast() async throws {
        let started = ContinuousClock.now
        let error = await #expect(throws: OutboundHTTPError.self) {
            _ = try await OutboundHTTPClient(timeout: .seconds(2)).get("https://127.0.0.1:1/keys")
        }
        #expect(error?.description == "the identity provider could not be reached")
        // Bounded, not timed: the point is that it ends (the full suite on two cores once took 5.1 s).
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    @Test("a provider that sends its head and then stalls the body fails within the deadline")
    func stalledBodyFailsWithinTheDeadline() async throws {
        let authority = try TestCertificateAuthority()
        try await IdentityProviderServer.run(certificate: try authority.issueServer()) { server in
            server.stallBody("/keys")
            let started = ContinuousClock.now
            let error = await #expect(throws: OutboundHTTPError.self) {
                _ = try await OutboundHTTPClient(timeout: .seconds(2)).get(server.baseURL + "/keys", trustedCAPEM: authority.certificatePEM)
            }
            #expect(error?.description.contains("did not answer") == true)
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(server.requests(to: "/keys").count == 1)
        }
    }
}
