import Foundation
import HTTPTypes
import LeaseholdAuditChain
@testable import LeaseholdAuditSinks
import LeaseholdCore
@testable import LeaseholdService
import LeaseholdTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import Testing

@Suite("Audit sinks: committed rows streamed to files, syslog and webhooks")
struct AuditSinkTests {
    /// Rows for the sinks: authenticated reads, each leaving one audit row.
    private func produceRows(_ count: Int, api: APIClient, token: String) async throws {
        for _ in 0..<count { _ = try await api.send(.get, "auth/token/lookup-self", token: token) }
    }

    /// The sequence of the audit row of the request that enabled a device at `path`.
    private func enableRowSequence(_ harness: BrokerHarness, path: String) async throws -> Int64 {
        let records = try await harness.sqlite.auditRecords(after: 0, limit: 100_000)
        return try #require(records.last { $0.event.path == "sys/audit/" + path }?.sequence)
    }

    @Test func webhookOutageAndRecoveryDeliversEveryRowOnceInOrder() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        try await harness.withClient { api in
            try await harness.withAuditSinks { _ in
                let enabled = try await api.send(
                    .put, "sys/audit/hook", token: root,
                    json: ["type": "webhook", "options": ["url": .string("http://127.0.0.1:\(port)/audit"), "header.Authorization": "Bearer canary-hook-credential"]])
                #expect(enabled.status == 204)
                let first = try await enableRowSequence(harness, path: "hook")
                try await produceRows(5, api: api, token: root)
                let head = try await harness.headSequence()
                #expect(try await eventually { receiver.deliveries.count == Int(head - first + 1) })

                await receiver.stop()
                try await produceRows(5, api: api, token: root)
                try await Task.sleep(for: .milliseconds(600))  // several failed attempts with backoff
                _ = try await receiver.start(port: port)
                try await produceRows(2, api: api, token: root)
                let finalHead = try await harness.headSequence()
                #expect(try await eventually { receiver.deliveries.count >= Int(finalHead - first + 1) })
                try await Task.sleep(for: .milliseconds(300))  // nothing more arrives

                let deliveries = receiver.deliveries
                let sequences = deliveries.compactMap { AuditEntryJSON.sequence(ofEntry: $0.body) }
                #expect(sequences == Array(first...finalHead))
                #expect(deliveries.map(\.sequenceHeader) == sequences.map(String.init))
                #expect(deliveries.allSatisfy { $0.authorization == "Bearer canary-hook-credential" })
                // The device list never shows the header's value.
                let listed = try await api.send(.get, "sys/audit", token: root)
                #expect(listed.data["hook/"]?.objectValue?["type"] == "webhook")
                #expect(!listed.text.contains("canary-hook-credential"))
            }
        }
        await receiver.stop()
    }

    @Test func tcpSyslogOutageAndRecoveryDeliversEveryRowOnceInOrder() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let receiver = SyslogReceiver()
        let port = try await receiver.start()
        try await harness.withClient { api in
            try await harness.withAuditSinks { _ in
                let enabled = try await api.send(
                    .put, "sys/audit/siem", token: root,
                    json: ["type": "syslog", "options": ["address": .string("127.0.0.1:\(port)"), "protocol": "tcp", "facility": "LOCAL3", "tag": "leasehold-test"]])
                #expect(enabled.status == 204)
                let first = try await enableRowSequence(harness, path: "siem")
                try await produceRows(5, api: api, token: root)
                let head = try await harness.headSequence()
                #expect(try await eventually { receiver.sequences.count == Int(head - first + 1) })

                await receiver.stop()
                try await produceRows(5, api: api, token: root)
                try await Task.sleep(for: .milliseconds(600))
                _ = try await receiver.start(port: port)
                try await produceRows(2, api: api, token: root)
                let finalHead = try await harness.headSequence()
                #expect(try await eventually { receiver.sequences.count >= Int(finalHead - first + 1) })
                try await Task.sleep(for: .milliseconds(300))

                #expect(receiver.sequences == Array(first...finalHead))
                let message = try #require(receiver.messages.first)
                // <LOCAL3 * 8 + info>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
                #expect(message.hasPrefix("<158>1 "))
                let fields = message.split(separator: " ", maxSplits: 7).map(String.init)
                #expect(fields[3] == "leasehold-test")
                #expect(fields[5] == "audit")
                #expect(fields[6] == "-")
            }
        }
        await receiver.stop()
    }

    @Test func tlsSyslogVerifiesTheReceiverAgainstTheConfiguredCA() async throws {
        let authority = try TestCertificateAuthority()
        let server = try authority.issue(commonName: "syslog", ipAddresses: ["127.0.0.1"], usages: [.serverAuth])
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: server.derBytes, format: .der))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(server.privateKeyPEM.utf8), format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        let receiver = SyslogReceiver(tls: try NIOSSLContext(configuration: configuration))
        let port = try await receiver.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let trusted = directory.appendingPathComponent("ca.pem").path
        try authority.certificatePEM.write(toFile: trusted, atomically: true, encoding: .utf8)
        let stranger = directory.appendingPathComponent("other-ca.pem").path
        try TestCertificateAuthority(commonName: "Other CA").certificatePEM.write(toFile: stranger, atomically: true, encoding: .utf8)

        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            try await harness.withAuditSinks { _ in
                let address = JSONValue.string("127.0.0.1:\(port)")
                _ = try await api.send(
                    .put, "sys/audit/untrusted", token: root,
                    json: ["type": "syslog", "options": ["address": address, "protocol": "tls", "tls_ca_file": .string(stranger)]])
                _ = try await api.send(
                    .put, "sys/audit/trusted", token: root,
                    json: ["type": "syslog", "options": ["address": address, "protocol": "tls", "tls_ca_file": .string(trusted)]])
                let first = try await enableRowSequence(harness, path: "trusted")
                try await produceRows(3, api: api, token: root)
                let head = try await harness.headSequence()
                #expect(try await eventually { receiver.sequences.count >= Int(head - first + 1) })
                try await Task.sleep(for: .milliseconds(300))
                // Only the device that trusts the receiver's CA delivered anything.
                #expect(receiver.sequences == Array(first...head))
            }
        }
        await receiver.stop()
    }

    @Test func fileSinkWritesVaultShapedLinesAndReopensAfterRotation() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("audit.log").path
        let rotated = directory.appendingPathComponent("audit.log.1").path
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            try await harness.withAuditSinks { registry in
                #expect(try await api.send(.put, "sys/audit/file", token: root, json: ["type": "file", "options": ["file_path": .string(path)]]).status == 204)
                let first = try await enableRowSequence(harness, path: "file")
                _ = try await api.send(.get, "sys/mounts", token: "s.not-a-valid-token")
                let head = try await harness.headSequence()
                #expect(try await eventually { Self.lines(path).count == Int(head - first + 1) })
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                #expect((attributes[.posixPermissions] as? Int) == 0o600)

                let entry = try #require(AuditEntryJSON.object(Self.lines(path).last ?? ""))
                #expect(entry["type"] == "response")
                #expect(entry["error"] == "permission denied")
                #expect(entry["request"]?.objectValue?["path"] == "sys/mounts")
                #expect(entry["request"]?.objectValue?["operation"] == "read")
                #expect(entry["auth"]?.objectValue?["client_token"]?.stringValue?.hasPrefix("hmac-sha256:") == true)
                let extra = try #require(entry["leasehold"]?.objectValue)
                #expect(extra["outcome"] == "denied")
                #expect(extra["event_type"] == "request")
                #expect(extra["hash"]?.stringValue?.count == 64)
                #expect(extra["previous_hash"]?.stringValue?.count == 64)

                // Rotation: rename, then SIGHUP (reopenAll); new rows go to a new file, none lost or repeated.
                try FileManager.default.moveItem(atPath: path, toPath: rotated)
                await registry.reopenAll()
                try await produceRows(3, api: api, token: root)
                let finalHead = try await harness.headSequence()
                #expect(try await eventually { (Self.lines(rotated) + Self.lines(path)).count >= Int(finalHead - first + 1) })
                let sequences = (Self.lines(rotated) + Self.lines(path)).compactMap(AuditEntryJSON.sequence(ofEntry:))
                #expect(sequences == Array(first...finalHead))
                #expect(!Self.lines(path).isEmpty)
            }
        }
    }

    @Test func plantedSecretsNeverReachSinkOutput() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-canary-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("audit.log").path
        let syslog = SyslogReceiver()
        let syslogPort = try await syslog.start()
        let webhook = WebhookReceiver()
        let webhookPort = try await webhook.start()
        let (harness, root) = try await BrokerHarness.unsealed()
        let password = "canary-password-\(UUID().uuidString)"
        let secretID = "canary-secret-id-\(UUID().uuidString)"
        let (planted, rowsText) = try await harness.withClient { api -> ([String], String) in
            try await harness.withAuditSinks { _ in
                _ = try await api.send(.put, "sys/audit/file", token: root, json: ["type": "file", "options": ["file_path": .string(path), "start": "oldest"]])
                _ = try await api.send(.put, "sys/audit/siem", token: root, json: ["type": "syslog", "options": ["address": .string("127.0.0.1:\(syslogPort)")]])
                _ = try await api.send(.put, "sys/audit/hook", token: root, json: ["type": "webhook", "options": [
                    "url": .string("http://127.0.0.1:\(webhookPort)/audit?token=canary-url-token"),
                    "header.Authorization": "Bearer canary-header-value",
                ]])
                // Reads of the device table show neither the header nor the URL's path and query.
                let listed = try await api.send(.get, "sys/audit", token: root)
                #expect(listed.text.contains("/redacted?redacted"), "\(listed.text)")
                #expect(!listed.text.contains("canary-url-token") && !listed.text.contains("canary-header-value"))

                let token = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["default"]]).clientToken
                _ = try await api.send(.get, "auth/token/lookup-self", token: token)
                _ = try await api.send(.post, "sys/auth/userpass", token: root, json: ["type": "userpass"])
                _ = try await api.send(.post, "auth/userpass/users/alice", token: root, json: ["password": .string(password), "policies": "default"])
                let userToken = try await api.send(.post, "auth/userpass/login/alice", json: ["password": .string(password)]).clientToken
                _ = try await api.send(.post, "auth/userpass/login/alice", json: ["password": "canary-wrong-password"])
                _ = try await api.send(.post, "sys/auth/approle", token: root, json: ["type": "approle"])
                _ = try await api.send(.post, "auth/approle/role/app", token: root, json: ["token_policies": "default"])
                _ = try await api.send(.post, "auth/approle/role/app/custom-secret-id", token: root, json: ["secret_id": .string(secretID)])
                let roleID = try await api.send(.get, "auth/approle/role/app/role-id", token: root).data["role_id"]?.stringValue ?? ""
                let appToken = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)]).clientToken
                let generated = try await api.send(.post, "auth/approle/role/app/secret-id", token: root).data["secret_id"]?.stringValue ?? ""
                _ = try await api.send(.get, "auth/token/lookup-self", token: "s.canary-invalid-token")

                let head = try await harness.headSequence()
                #expect(try await eventually {
                    let fileHead: Int64? = Self.lines(path).last.flatMap { AuditEntryJSON.sequence(ofEntry: $0) }
                    let webhookHead: Int64? = webhook.deliveries.last.flatMap { AuditEntryJSON.sequence(ofEntry: $0.body) }
                    return fileHead == head && syslog.sequences.last == head && webhookHead == head
                })
                let rows = try await harness.store.auditRecords(after: 0, limit: 100_000)
                let rowsText = try rows.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
                return ([
                    root, token, userToken, appToken, password, "canary-wrong-password", secretID, generated,
                    "s.canary-invalid-token", "canary-url-token", "canary-header-value",
                ], rowsText)
            }
        }
        let output = Self.lines(path).joined() + syslog.messages.joined() + webhook.deliveries.map(\.body).joined() + rowsText
        #expect(output.contains("auth/userpass/login/alice"))
        for secret in planted {
            #expect(!secret.isEmpty)
            #expect(!output.contains(secret))
        }
        await syslog.stop()
        await webhook.stop()
    }

    @Test func deviceOptionsAreCheckedAndThePathsNeedSudo() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let refused: [JSONValue] = [
                ["type": "file", "options": ["file_path": "relative.log"]],
                ["type": "file", "options": ["file_path": "/tmp/x.log", "mode": "0666"]],
                ["type": "file", "options": ["file_path": "/tmp/x.log", "mode": "0700"]],
                ["type": "file", "options": ["file_path": "/tmp/x.log", "mode": "0645"]],
                ["type": "syslog", "options": ["address": "127.0.0.1:514", "protocol": "carrier-pigeon"]],
                ["type": "webhook", "options": ["url": "http://siem.example.com/audit"]],
                ["type": "webhook", "options": ["url": "https://user:pw@siem.example.com/audit"]],
                ["type": "kafka"],
            ]
            for body in refused {
                #expect(try await api.send(.put, "sys/audit/bad", token: root, json: body).status == 400)
            }
            #expect(try await api.send(.get, "sys/audit", token: root).data.isEmpty)
            _ = try await api.send(.put, "sys/policies/acl/operator", token: root, json: ["policy": "path \"sys/audit*\" { capabilities = [\"create\", \"update\", \"read\", \"delete\"] }"])
            let operatorToken = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["operator"]]).clientToken
            let body: JSONValue = ["type": "file", "options": ["file_path": "/tmp/leasehold-never-written.log"]]
            #expect(try await api.send(.put, "sys/audit/file", token: operatorToken, json: body).status == 403)
            #expect(try await api.send(.get, "sys/audit", token: operatorToken).status == 403)
            #expect(try await api.send(.put, "sys/audit/file", token: root, json: body).status == 204)
            #expect(try await api.send(.put, "sys/audit/file", token: root, json: body).status == 400)
            #expect(try await api.send(.delete, "sys/audit/file", token: operatorToken).status == 403)
            #expect(try await api.send(.delete, "sys/audit/file", token: root).status == 204)
            #expect(try await api.send(.get, "sys/audit", token: root).data.isEmpty)
        }
    }

    /// By default the API cannot enable audit devices (a file device is host access: CVE-2025-6000); it can still
    /// list and disable them.
    @Test func enablingThroughTheAPIIsRefusedUnlessTheConfigurationAllowsIt() async throws {
        let harness = try await BrokerHarness.make(allowsAPIAuditDevices: false)
        let root = try await harness.broker.initializeForDevelopment(rootTokenID: nil).rootToken.revealed
        try await harness.withClient { api in
            for body: JSONValue in [
                ["type": "file", "options": ["file_path": "/tmp/leasehold-never-written.log"]],
                ["type": "socket", "options": ["address": "127.0.0.1:9"]],
            ] {
                let refused = try await api.send(.put, "sys/audit/x", token: root, json: body)
                #expect(refused.status == 400)
                #expect(refused.errors == ["audit devices cannot be enabled through the API unless the server configuration sets unsafe_allow_api_audit_creation = true"])
            }
            #expect(!FileManager.default.fileExists(atPath: "/tmp/leasehold-never-written.log"))
            #expect(try await api.send(.get, "sys/audit", token: root).status == 200)
            #expect(try await api.send(.delete, "sys/audit/x", token: root).status == 204)
        }
    }

    /// The file sink writes only to regular files: not through a symbolic link (which could point at the broker's
    /// keys or store), not to devices or FIFOs (which cannot be synced or truncated after a failed batch); an
    /// existing file keeps its mode, a new one gets the device's.
    @Test func theFileSinkWritesOnlyToRegularFilesAndKeepsAnExistingFilesMode() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-open-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let event = AuditEvent(
            time: Date(), requestID: "r", type: "request", operation: "read", path: "sys/mounts", actor: AuditActor(),
            remoteAddress: "", outcome: "allowed", environment: "default", details: [:])
        let records = try AuditChain.link([event], after: .genesis)
        func deliver(to path: String, mode: String = "0600") async -> String? {
            let options = ["file_path": path, "mode": mode]
            let device = AuditDevice(path: "f/", type: "file", description: "", options: options, local: false, id: "d")
            do {
                let sink = try AuditSinks.make(device: device, settings: try device.settings())
                defer { Task { await sink.close() } }
                try await sink.deliver(records)
                return nil
            } catch let failure as AuditDeliveryFailure {
                return failure.reason
            } catch {
                return "\(error)"
            }
        }

        let secret = directory.appendingPathComponent("server.key").path
        #expect(FileManager.default.createFile(atPath: secret, contents: Data("KEY".utf8), attributes: [.posixPermissions: 0o600]))
        let link = directory.appendingPathComponent("audit.log").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: secret)
        #expect(await deliver(to: link, mode: "0644")?.hasPrefix("open failed") == true)
        #expect(FileManager.default.contents(atPath: secret) == Data("KEY".utf8))
        #expect((try FileManager.default.attributesOfItem(atPath: secret)[.posixPermissions] as? Int) == 0o600)

        // A device of the test's own (the null device's numbers), never the system's: an implementation that
        // changed a device's mode would change only this one.
        let device = directory.appendingPathComponent("null").path
        if mknod(device, mode_t(S_IFCHR) | 0o666, dev_t(0x103)) == 0 {
            #expect(await deliver(to: device) == "open failed: not a regular file (use file_path=stdout for standard output)")
        }
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(await deliver(to: fifo)?.hasPrefix("open failed") == true, "no reader: refused at once, not blocked")

        let existing = directory.appendingPathComponent("existing.log").path
        #expect(FileManager.default.createFile(atPath: existing, contents: nil, attributes: [.posixPermissions: 0o640]))
        #expect(await deliver(to: existing, mode: "0600") == nil)
        #expect((try FileManager.default.attributesOfItem(atPath: existing)[.posixPermissions] as? Int) == 0o640)
        let created = directory.appendingPathComponent("new.log").path
        #expect(await deliver(to: created, mode: "0640") == nil)
        #expect((try FileManager.default.attributesOfItem(atPath: created)[.posixPermissions] as? Int) == 0o640)
        #expect(Self.lines(created).count == 1)
    }

    /// A receiver that stops reading closes its window: the bytes still in the local send buffer were never
    /// taken, so the batch is not delivered (it was: no segment was unacknowledged, and the cursor moved past rows
    /// a restarting receiver never saw).
    @Test func aReceiverThatStopsReadingDoesNotAcknowledgeWhatItNeverTook() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_rcvbuf), value: 2048)
            .childChannelOption(.autoRead, value: false)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let sink = try StreamAuditSink(
            host: "127.0.0.1", port: port, trust: nil, format: AuditEntryFormat(framing: .jsonLines), timeout: .seconds(2))
        // About 12 KB: more than the receiver's window, less than the sender's 16 KB send buffer.
        let events = (0..<3).map { index in
            AuditEvent(
                time: Date(), requestID: "r\(index)", type: "request", operation: "read", path: "sys/mounts",
                actor: AuditActor(), remoteAddress: "", outcome: "allowed", environment: "default",
                details: ["padding": String(repeating: "x", count: 4000)])
        }
        let records = try AuditChain.link(events, after: .genesis)
        let failure = await #expect(throws: AuditDeliveryFailure.self) { try await sink.deliver(records) }
        #expect(failure?.delivered == 0)
        #expect(failure?.reason == "connection lost or timed out")
        // About 6 MB, more than the sender's socket buffer can grow to: the write itself must give up at the timeout
        // rather than wait for a receiver that never reads.
        let large = try AuditChain.link(
            (0..<1500).map { index in
                AuditEvent(
                    time: Date(), requestID: "l\(index)", type: "request", operation: "read", path: "sys/mounts",
                    actor: AuditActor(), remoteAddress: "", outcome: "allowed", environment: "default",
                    details: ["padding": String(repeating: "y", count: 4000)])
            }, after: .genesis)
        let started = ContinuousClock.now
        let stalled = await #expect(throws: AuditDeliveryFailure.self) {
            try await withDeadline(.seconds(15), timeoutError: CancellationError()) { try await sink.deliver(large) }
        }
        #expect(stalled?.reason == "connection lost or timed out")
        #expect(ContinuousClock.now - started < .seconds(8))
        await sink.close()
        try await server.close()
    }

    private static func lines(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
