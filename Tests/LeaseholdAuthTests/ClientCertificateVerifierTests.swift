import Crypto
import Foundation
import LeaseholdAuth
import LeaseholdTestSupport
import Testing
import X509

@Suite("Client certificate verification (auth/cert)")
struct ClientCertificateVerifierTests {
    let authority: TestCertificateAuthority

    init() throws {
        authority = try TestCertificateAuthority()
    }

    func verify(_ certificate: IssuedCertificate, trusting pem: String, constraints: ClientCertificateConstraints = .init(), revoked: Set<String> = []) async throws -> ClientCertificateIdentity {
        try await ClientCertificateVerifier(trustedPEM: pem, constraints: constraints).verify(leafDER: certificate.derBytes, revokedSerials: revoked, at: Date())
    }

    @Test func aCertificateSignedByTheTrustedCAIsAccepted() async throws {
        let client = try authority.issue(commonName: "web", uris: ["spiffe://prod/web"])
        let identity = try await verify(client, trusting: authority.certificatePEM)
        #expect(identity.commonName == "web")
        #expect(identity.fingerprint == ClientCertificateVerifier.fingerprint(of: client.derBytes))
        #expect(!identity.serialNumber.isEmpty && !identity.subjectKeyID.isEmpty && !identity.authorityKeyID.isEmpty)
    }

    @Test func certificatesFromAnotherCAAreRefused() async throws {
        let other = try TestCertificateAuthority(commonName: "Other CA")
        let client = try other.issue(commonName: "web")
        await #expect(throws: ClientCertificateRejection.self) { try await verify(client, trusting: authority.certificatePEM) }
    }

    @Test func expiredAndNotYetValidCertificatesAreRefused() async throws {
        let expired = try authority.issue(commonName: "web", notValidBefore: Date() - 7200, notValidAfter: Date() - 60)
        let early = try authority.issue(commonName: "web", notValidBefore: Date() + 3600, notValidAfter: Date() + 7200)
        for certificate in [expired, early] {
            await #expect(throws: ClientCertificateRejection.self) { try await verify(certificate, trusting: authority.certificatePEM) }
        }
    }

    @Test func aCertificateWithoutClientAuthUsageIsRefused() async throws {
        let server = try authority.issue(commonName: "web", usages: [.serverAuth])
        await #expect(throws: ClientCertificateRejection.self) { try await verify(server, trusting: authority.certificatePEM) }
        // Without the extension at all, the certificate is not restricted (RFC 5280 §4.2.1.12).
        let unrestricted = try authority.issue(commonName: "web", usages: [])
        _ = try await verify(unrestricted, trusting: authority.certificatePEM)
    }

    @Test func aPinnedLeafMatchesOnlyByteForByte() async throws {
        let pinned = try authority.issue(commonName: "pinned", selfSigned: true)
        _ = try await verify(pinned, trusting: pinned.certificatePEM)
        // Same subject, another key (CVE-2025-6037); same key, another certificate (CVE-2024-2048).
        let otherKey = try authority.issue(commonName: "pinned", selfSigned: true)
        let sameKey = try authority.issue(commonName: "pinned", key: pinned.privateKey, selfSigned: true)
        for impostor in [otherKey, sameKey] {
            await #expect(throws: ClientCertificateRejection.self) { try await verify(impostor, trusting: pinned.certificatePEM) }
        }
        // A pinned CA-issued leaf does not make the CA trusted for its siblings.
        let issued = try authority.issue(commonName: "one")
        let sibling = try authority.issue(commonName: "two")
        _ = try await verify(issued, trusting: issued.certificatePEM)
        await #expect(throws: ClientCertificateRejection.self) { try await verify(sibling, trusting: issued.certificatePEM) }
    }

    @Test func nameConstraintsUseGlobsAndMustAllMatch() async throws {
        let client = try authority.issue(
            commonName: "web-7", organizationalUnit: "payments", dnsNames: ["web.prod.internal"],
            emailAddresses: ["web@payments.example"], uris: ["spiffe://prod/ns/pay/sa/web"])
        let pem = authority.certificatePEM
        _ = try await verify(
            client, trusting: pem,
            constraints: .init(
                commonNames: ["web-*"], dnsNames: ["*.prod.internal"], emailAddresses: ["*@payments.example"],
                uris: ["spiffe://prod/ns/pay/*"], organizationalUnits: ["payments"]))
        for constraints in [
            ClientCertificateConstraints(commonNames: ["api-*"]), .init(dnsNames: ["*.dev.internal"]),
            .init(emailAddresses: ["*@billing.example"]), .init(uris: ["spiffe://dev/*"]), .init(organizationalUnits: ["billing"]),
            .init(commonNames: ["web-*"], uris: ["spiffe://dev/*"]),
        ] {
            await #expect(throws: ClientCertificateRejection.self) { try await verify(client, trusting: pem, constraints: constraints) }
        }
    }

    @Test func anEmailConstraintRefusesACertificateWithoutEmailNames() async throws {
        // The DNS name spells the allowed address, but only an email SAN may satisfy an email constraint.
        let client = try authority.issue(commonName: "web@payments.example", dnsNames: ["web@payments.example"])
        await #expect(throws: ClientCertificateRejection.self) {
            try await verify(client, trusting: authority.certificatePEM, constraints: .init(emailAddresses: ["*@payments.example"]))
        }
    }

    @Test func allowedNamesMatchTheCommonNameOrADNSOrEmailName() async throws {
        let client = try authority.issue(commonName: "web-7", dnsNames: ["web.prod.internal"], emailAddresses: ["web@pay.example"])
        let pem = authority.certificatePEM
        for pattern in ["web-*", "*.prod.internal", "*@pay.example"] {
            _ = try await verify(client, trusting: pem, constraints: .init(names: [pattern]))
        }
        await #expect(throws: ClientCertificateRejection.self) {
            try await verify(client, trusting: pem, constraints: .init(names: ["api-*"]))
        }
    }

    @Test func constraintsStoredBeforeEmailConstraintsExistedStillDecode() throws {
        let stored = #"{"commonNames":["web-*"],"dnsNames":[],"uris":["spiffe://prod/*"],"organizationalUnits":[]}"#
        let constraints = try JSONDecoder().decode(ClientCertificateConstraints.self, from: Data(stored.utf8))
        #expect(constraints == ClientCertificateConstraints(commonNames: ["web-*"], uris: ["spiffe://prod/*"]))
    }

    @Test func revokedSerialsAreRefused() async throws {
        let client = try authority.issue(commonName: "web")
        let identity = try await verify(client, trusting: authority.certificatePEM)
        await #expect(throws: ClientCertificateRejection.self) {
            try await verify(client, trusting: authority.certificatePEM, revoked: [identity.serialNumber])
        }
    }

    @Test func anOpenSSLCRLIsParsedIntoItsRevokedSerials() throws {
        let revoked = try authority.issue(commonName: "revoked")
        let kept = try authority.issue(commonName: "kept")
        let list = try RevocationList(pem: try authority.makeCRL(revoking: [revoked]))
        #expect(list.revokedSerials == [RevocationList.normalizedSerial(revoked.certificate.serialNumber.bytes)])
        #expect(!list.revokedSerials.contains(RevocationList.normalizedSerial(kept.certificate.serialNumber.bytes)))
    }

    @Test func malformedInputIsRefusedWithoutCrashing() async throws {
        #expect(throws: ClientCertificateRejection.self) { try ClientCertificateVerifier(trustedPEM: "not a pem") }
        #expect(throws: ClientCertificateRejection.self) { try ClientCertificateVerifier(trustedPEM: "") }
        #expect(throws: ClientCertificateRejection.self) {
            try ClientCertificateVerifier(trustedPEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        }
        #expect(throws: ClientCertificateRejection.self) { try RevocationList(pem: authority.certificatePEM) }
        #expect(throws: ClientCertificateRejection.self) { try RevocationList(der: [0x30, 0x03, 0x02, 0x01]) }
        let verifier = try ClientCertificateVerifier(trustedPEM: authority.certificatePEM)
        for garbage in [[UInt8](), [0x30, 0x82, 0xff, 0xff], [UInt8](repeating: 0x30, count: 100)] {
            await #expect(throws: ClientCertificateRejection.self) { try await verifier.verify(leafDER: garbage, at: Date()) }
        }
    }
}
