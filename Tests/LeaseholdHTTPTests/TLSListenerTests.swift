import AsyncHTTPClient
import Foundation
import Hummingbird
import LeaseholdHTTP
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import Testing

/// A throwaway PKI made with the system's openssl: a CA, server and client certificates. Nothing is committed.
struct TestPKI {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("leasehold-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestPKIError(arguments: arguments) }
    }

    struct TestPKIError: Error { let arguments: [String] }

    func makeAuthority(_ name: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            path("\(name).key"), "-out", path("\(name).pem"), "-days", "1", "-subj", "/CN=\(name)",
        ])
    }

    /// Issues `name.pem`/`name.key` signed by `authority`, for `usage` serverAuth or clientAuth.
    func issue(_ name: String, by authority: String, usage: String) throws {
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path("\(name).key"),
            "-out", path("\(name).csr"), "-subj", "/CN=\(name)",
        ])
        let extensions = path("\(name).ext")
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=\(usage)\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(authority).pem"), "-CAkey", path("\(authority).key"),
            "-CAcreateserial", "-out", path("\(name).pem"), "-days", "1", "-extfile", extensions,
        ])
    }
}

@Suite("TLS listeners", .serialized)
struct TLSListenerTests {
    func withListener(_ certificates: ListenerCertificates, _ body: @Sendable (Int) async throws -> Void) async throws {
        let (harness, _) = try await BrokerHarness.unsealed()
        try await harness.withLiveListener(certificates: certificates, body)
    }

    /// GET sys/seal-status over TLS; returns the status or throws on a handshake failure.
    func fetch(
        port: Int, trusting authority: String, client: (certificate: String, key: String)? = nil, maximumVersion: TLSVersion? = nil,
        cipherSuites: String? = nil
    ) async throws -> Int {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(authority)
        if let maximumVersion { tls.maximumTLSVersion = maximumVersion }
        if let cipherSuites { tls.cipherSuites = cipherSuites }
        if let client {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(client.certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: client.key, format: .pem))
        }
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls, timeout: .init(connect: .seconds(2), read: .seconds(3))))
        do {
            let response = try await httpClient.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/sys/seal-status"), timeout: .seconds(3))
            try await httpClient.shutdown()
            return Int(response.status.code)
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
    }

    @Test func optionalClientCertificatesAndTLS12Minimum() async throws {
        let pki = try TestPKI()
        try pki.makeAuthority("ca")
        try pki.makeAuthority("rogue")
        try pki.issue("server", by: "ca", usage: "serverAuth")
        try pki.issue("client", by: "ca", usage: "clientAuth")
        try pki.issue("intruder", by: "rogue", usage: "clientAuth")
        let certificates = try ListenerCertificates(
            settings: ListenerTLSSettings(certificateFile: pki.path("server.pem"), keyFile: pki.path("server.key"), clientCAFile: pki.path("ca.pem")))
        try await withListener(certificates) { port in
            let status1 = try await fetch(port: port, trusting: pki.path("ca.pem"))
            #expect(status1 == 200)
            let status2 = try await fetch(port: port, trusting: pki.path("ca.pem"), client: (pki.path("client.pem"), pki.path("client.key")))
            #expect(status2 == 200)
            await #expect(throws: (any Error).self) {
                try await fetch(port: port, trusting: pki.path("ca.pem"), client: (pki.path("intruder.pem"), pki.path("intruder.key")))
            }
            await #expect(throws: (any Error).self) {
                try await fetch(port: port, trusting: pki.path("ca.pem"), maximumVersion: .tlsv11)
            }
            // TLS 1.2 with forward secrecy and AEAD only: a CBC suite is refused, a GCM one accepted.
            await #expect(throws: (any Error).self) {
                try await fetch(port: port, trusting: pki.path("ca.pem"), maximumVersion: .tlsv12, cipherSuites: "ECDHE-ECDSA-AES128-SHA")
            }
            let gcm = try await fetch(port: port, trusting: pki.path("ca.pem"), maximumVersion: .tlsv12, cipherSuites: "ECDHE-ECDSA-AES128-GCM-SHA256")
            #expect(gcm == 200)
        }
    }

    @Test func requiredClientCertificates() async throws {
        let pki = try TestPKI()
        try pki.makeAuthority("ca")
        try pki.issue("server", by: "ca", usage: "serverAuth")
        try pki.issue("client", by: "ca", usage: "clientAuth")
        let certificates = try ListenerCertificates(
            settings: ListenerTLSSettings(
                certificateFile: pki.path("server.pem"), keyFile: pki.path("server.key"), clientCAFile: pki.path("ca.pem"),
                requiresClientCertificate: true))
        try await withListener(certificates) { port in
            await #expect(throws: (any Error).self) { try await fetch(port: port, trusting: pki.path("ca.pem")) }
            let status3 = try await fetch(port: port, trusting: pki.path("ca.pem"), client: (pki.path("client.pem"), pki.path("client.key")))
            #expect(status3 == 200)
        }
    }

    @Test func certificatesReloadWithoutRestart() async throws {
        let pki = try TestPKI()
        try pki.makeAuthority("old")
        try pki.makeAuthority("new")
        try pki.issue("server", by: "old", usage: "serverAuth")
        let certificates = try ListenerCertificates(
            settings: ListenerTLSSettings(certificateFile: pki.path("server.pem"), keyFile: pki.path("server.key")))
        try await withListener(certificates) { port in
            let status4 = try await fetch(port: port, trusting: pki.path("old.pem"))
            #expect(status4 == 200)
            await #expect(throws: (any Error).self) { try await fetch(port: port, trusting: pki.path("new.pem")) }
            try pki.issue("server", by: "new", usage: "serverAuth")
            try certificates.reload()
            let status5 = try await fetch(port: port, trusting: pki.path("new.pem"))
            #expect(status5 == 200)
            // A key that does not belong to the certificate (a pair replaced halfway) keeps the previous pair.
            let renewedKey = try String(contentsOfFile: pki.path("server.key"), encoding: .utf8)
            try pki.issue("server", by: "old", usage: "serverAuth")
            try renewedKey.write(toFile: pki.path("server.key"), atomically: true, encoding: .utf8)
            #expect(throws: (any Error).self) { try certificates.reload() }
            #expect(try await fetch(port: port, trusting: pki.path("new.pem")) == 200)
            // A broken file on reload keeps the previous pair.
            try "garbage".write(toFile: pki.path("server.pem"), atomically: true, encoding: .utf8)
            #expect(throws: (any Error).self) { try certificates.reload() }
            let status6 = try await fetch(port: port, trusting: pki.path("new.pem"))
            #expect(status6 == 200)
        }
    }
}
