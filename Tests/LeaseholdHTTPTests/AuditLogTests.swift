import Foundation
import NIOCore
@testable import LeaseholdHTTP
import Hummingbird
import HTTPTypes
import LeaseholdAuditChain
import LeaseholdCore
import LeaseholdService
import LeaseholdTestSupport
import Testing

/// The policy auditors get (also in docs/examples/auditor.hcl).
let auditorPolicy = """
    path "sys/audit-log" { capabilities = ["read"] }
    path "sys/audit-log/*" { capabilities = ["read"] }
    """

@Suite("Audit log for auditors: queries, lease history, verification")
struct AuditLogTests {
    /// A fresh path under the temporary directory for retention archives (removed by the test).
    static func temporaryArchivePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("leasehold-archive-\(UUID().uuidString)").path
    }

    /// A token holding only the auditor policy.
    func auditorToken(_ api: APIClient, root: String) async throws -> String {
        #expect(try await api.send(.put, "sys/policies/acl/auditor", token: root, json: ["policy": .string(auditorPolicy)]).status == 204)
        return try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["auditor"], "display_name": "alice-auditor"]).clientToken
    }

    @Test func theAuditAPIRefusesTokensWithoutTheAuditorPolicy() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let plain = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["default"]]).clientToken
            let auditor = try await auditorToken(api, root: root)
            for path in ["sys/audit-log", "sys/audit-log/verify", "sys/audit-log/lease?lease_id=x", "sys/audit-log/holder?db_username=x"] {
                #expect(try await api.send(.get, path, token: plain).status == 403, "\(path)")
                #expect(try await api.send(.get, path).status == 403, "\(path) without a token")
            }
            #expect(try await api.send(.get, "sys/audit-log", token: auditor).status == 200)
            #expect(try await api.send(.get, "sys/audit-log/verify", token: auditor).status == 200)
            // Checkpoints need sudo, which the auditor policy does not give.
            #expect(try await api.send(.put, "sys/audit-log/checkpoint", token: auditor, json: [:]).status == 403)
        }
    }

    /// Time bounds that are not a date between 1970 and 9999 are refused: `nan`, `inf` or `1e300` trapped in the
    /// conversion to the stores' microseconds and took the whole process down.
    /// The page's login and logout forms accept posts from its own origin (and from clients that are not browsers),
    /// and refuse those another site makes a browser send: a foreign or opaque `Origin`, `Sec-Fetch-Site: cross-site`.
    @Test func thePageRefusesFormPostsFromOtherSites() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let auditor = try await auditorToken(api, root: root)
            func post(_ path: String, _ headers: [String: String]) async throws -> (status: Int, cookie: String?) {
                // The test client's requests name `localhost` as their authority.
                var fields: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
                return try await api.client.execute(
                    uri: "/ui/audit/" + path, method: .post, headers: fields, body: .init(string: "token=" + auditor)
                ) { response in (Int(response.status.code), response.headers[.setCookie]) }
            }
            for sameSite in [["Origin": "https://localhost", "Sec-Fetch-Site": "same-origin"],
                             ["Origin": "http://LOCALHOST"], ["Sec-Fetch-Site": "none"], [:]] {
                let accepted = try await post("login", sameSite)
                #expect(accepted.status == 303)
                #expect(accepted.cookie?.hasPrefix("leasehold_audit_token=") == true)
            }
            for crossSite in [["Origin": "https://evil.example"], ["Origin": "https://localhost:8201"],
                              ["Origin": "null"], ["Sec-Fetch-Site": "cross-site"], ["Sec-Fetch-Site": "same-site"],
                              ["Origin": "https://localhost", "Sec-Fetch-Site": "cross-site"]] {
                for path in ["login", "logout"] {
                    let refused = try await post(path, crossSite)
                    #expect(refused.status == 403, "\(path) \(crossSite)")
                    #expect(refused.cookie == nil, "no session set or cleared")
                }
            }
        }
    }

    /// An IPv6 literal host is bracketed in `Host` but may not be in the parsed `Origin`: still the same origin.
    @Test func anIPv6OriginMatchesItsBracketedHost() {
        func request(authority: String, origin: String) -> Request {
            Request(
                head: HTTPRequest(method: .post, scheme: "http", authority: authority, path: "/ui/audit/login",
                                  headerFields: [HTTPField.Name("Origin")!: origin]),
                body: RequestBody(buffer: ByteBuffer()))
        }
        #expect(AuditWebPage.isSameOrigin(request(authority: "[::1]:8200", origin: "http://[::1]:8200")))
        #expect(AuditWebPage.isSameOrigin(request(authority: "[2001:db8::1]", origin: "https://[2001:db8::1]")))
        #expect(!AuditWebPage.isSameOrigin(request(authority: "[::1]:8200", origin: "http://[::2]:8200")))
    }

    @Test func timeBoundsOutsideTheCalendarAreRefusedNotFatal() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let auditor = try await auditorToken(api, root: root)
            for query in ["since=nan", "until=inf", "since=1e300", "until=-1e300", "since=-1"] {
                let reply = try await api.send(.get, "sys/audit-log?\(query)", token: auditor)
                #expect(reply.status == 400, "\(query)")
            }
            #expect(try await api.send(.get, "sys/audit-log/holder?db_username=v-x&time=inf", token: auditor).status == 400)
            #expect(try await api.send(.get, "sys/audit-log?since=0", token: auditor).status == 200)
        }
    }

    @Test func queriesFilterByIdentityTypeAndOutcomeAndPageWithCursors() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let auditor = try await auditorToken(api, root: root)
            let worker = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["default"], "display_name": "worker"]).clientToken
            for _ in 0..<5 { _ = try await api.send(.get, "sys/mounts", token: worker) }
            let denied = try await api.send(.get, "sys/audit-log?display_name=token-worker&outcome=denied", token: auditor)
            #expect(denied.status == 200, "\(denied.text)")
            let records = denied.data["records"]?.arrayValue ?? []
            #expect(records.count == 5)
            #expect(records.allSatisfy { $0.objectValue?["path"] == "sys/mounts" })
            #expect(records.first?.objectValue?["actor"]?.objectValue?["display_name"] == "token-worker")
            // Pages of two, following next_cursor.
            var seen: [JSONValue] = []
            var cursor: String?
            repeat {
                let page = try await api.send(.get, "sys/audit-log?display_name=token-worker&limit=2" + (cursor.map { "&after=\($0)" } ?? ""), token: auditor)
                seen += page.data["records"]?.arrayValue ?? []
                cursor = page.data["next_cursor"]?.numberValue.map { String(Int64($0)) }
            } while cursor != nil
            #expect(seen.count == 5)
            let bad = try await api.send(.get, "sys/audit-log?limit=5000", token: auditor)
            #expect(bad.status == 400)
            let hostile = try await api.send(.get, "sys/audit-log?type=%25%27%3B", token: auditor)
            #expect(hostile.status == 400)
        }
    }

    @Test func verificationFindsTruncationAfterACheckpointAndAlterationInTheStore() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            for _ in 0..<5 { _ = try await api.send(.get, "sys/mounts", token: root) }
            let checkpoint = try await api.send(.put, "sys/audit-log/checkpoint", token: root, json: [:])
            #expect(checkpoint.status == 200, "\(checkpoint.text)")
            #expect(checkpoint.data["created"] == true)
            let intact = try await api.send(.get, "sys/audit-log/verify", token: root)
            #expect(intact.data["intact"] == true, "\(intact.text)")
            #expect(intact.data["checkpoints"] == 1)
            let covered = Int(checkpoint.data["sequence"]?.numberValue ?? 0)
            // Someone with write access to the store deletes the newest rows, checkpoint included.
            try StoreSQLiteAdministration.execute("DELETE FROM audit_log WHERE sequence >= \(covered - 1)", inDatabaseAt: harness.sqlite.path)
            let truncated = try await api.send(.get, "sys/audit-log/verify", token: root)
            #expect(truncated.data["intact"] == false)
            #expect(truncated.data["break_kind"] == "truncated")
            #expect(truncated.data["break_sequence"] == .int(covered - 1))
            try StoreSQLiteAdministration.execute("UPDATE audit_log SET outcome = 'denied' WHERE sequence = 2", inDatabaseAt: harness.sqlite.path)
            let altered = try await api.send(.get, "sys/audit-log/verify", token: root)
            #expect(altered.data["break_kind"] == "altered")
            #expect(altered.data["break_sequence"] == 2)
        }
    }

    /// Someone who can write the store but not unseal it drops the newest checkpoint (the last row) and its copy
    /// in the encrypted store: the key exists, so the checkpoint must, and verification says the chain was cut.
    @Test func droppingTheNewestCheckpointAndItsCopyIsDetected() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            for _ in 0..<3 { _ = try await api.send(.get, "sys/mounts", token: root) }
            let checkpoint = try await api.send(.put, "sys/audit-log/checkpoint", token: root, json: [:])
            let made = Int(checkpoint.data["sequence"]?.numberValue ?? 0) + 1
            let path = harness.sqlite.path
            try StoreSQLiteAdministration.execute("DELETE FROM audit_log WHERE sequence >= \(made)", inDatabaseAt: path)
            try StoreSQLiteAdministration.execute(
                "UPDATE audit_head SET sequence = (SELECT max(sequence) FROM audit_log), hash = (SELECT hash FROM audit_log ORDER BY sequence DESC LIMIT 1)",
                inDatabaseAt: path)
            try StoreSQLiteAdministration.execute(
                "DELETE FROM entries WHERE namespace = 'audit-trail' AND key = 'newest-checkpoint'", inDatabaseAt: path)
            let report = try await api.send(.get, "sys/audit-log/verify", token: root)
            #expect(report.data["intact"] == false, "\(report.text)")
            #expect(report.data["break_kind"] == "truncated")
        }
    }

    /// A chain changed under a checkpoint is never signed over: the next checkpoint is refused.
    @Test func aCheckpointIsNotSignedOverAChangedChain() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            for _ in 0..<3 { _ = try await api.send(.get, "sys/mounts", token: root) }
            let first = try await api.send(.put, "sys/audit-log/checkpoint", token: root, json: [:])
            #expect(first.status == 200)
            let covered = Int(first.data["sequence"]?.numberValue ?? 0)
            _ = try await api.send(.get, "sys/mounts", token: root)
            // Rewrite the covered row and re-hash everything from it: a consistent chain, not the signed one.
            let records = try await harness.store.auditRecords(after: 0, limit: 1000)
            var events = records.map(\.event)
            events[covered - 1].actor.displayName = "mallory"
            let relinked = try AuditChain.link(
                Array(events[(covered - 1)...]), after: AuditChainHead(sequence: Int64(covered - 1), hash: records[covered - 2].hash))
            for record in relinked {
                try StoreSQLiteAdministration.execute(
                    "UPDATE audit_log SET display_name = '\(record.event.actor.displayName)', previous_hash = X'\(record.previousHash.hexString)', hash = X'\(record.hash.hexString)' WHERE sequence = \(record.sequence)",
                    inDatabaseAt: harness.sqlite.path)
            }
            let last = try #require(relinked.last)
            try StoreSQLiteAdministration.execute(
                "UPDATE audit_head SET hash = X'\(last.hash.hexString)'", inDatabaseAt: harness.sqlite.path)
            let refused = try await api.send(.put, "sys/audit-log/checkpoint", token: root, json: [:])
            #expect(refused.status == 500, "\(refused.text)")
            let rows = try await harness.store.auditRecords(after: 0, limit: 1000)
            #expect(rows.filter { $0.event.type == AuditCheckpoint.eventType }.count == 1)
        }
    }

    /// A retention run that dies between moving the anchor and deleting leaves old rows behind: verification
    /// ignores them, and the next run deletes them.
    @Test func anInterruptedRetentionStillVerifiesAndIsCompletedByTheNextRun() async throws {
        let clock = TestClock()
        let (harness, root) = try await BrokerHarness.unsealed(clock: clock)
        let archive = Self.temporaryArchivePath()
        defer { try? FileManager.default.removeItem(atPath: archive) }
        try await harness.withClient { api in
            for _ in 0..<4 { _ = try await api.send(.get, "sys/mounts", token: root) }
            clock.advance(by: 86_400 * 2)
            _ = try await api.send(.get, "sys/mounts", token: root)
            harness.store.failAuditDeletes(true)
            await #expect(throws: LeaseholdError.self) {
                _ = try await harness.broker.applyAuditRetention(cutoff: clock.now.addingTimeInterval(-86_400), directory: archive)
            }
            harness.store.failAuditDeletes(false)
            let report = try await api.send(.get, "sys/audit-log/verify", token: root)
            #expect(report.data["intact"] == true, "\(report.text)")
            let anchor = try #require(report.data["anchor_sequence"]?.numberValue)
            #expect(anchor > 0)
            #expect(try await harness.store.auditRecords(after: 0, limit: 1).first?.sequence == 1)
            _ = try await harness.broker.applyAuditRetention(cutoff: clock.now.addingTimeInterval(-86_400 * 10), directory: archive)
            #expect(try await harness.store.auditRecords(after: 0, limit: 1).first?.sequence == Int64(anchor) + 1)
            #expect(try await api.send(.get, "sys/audit-log/verify", token: root).data["intact"] == true)
        }
    }

    /// An archive that cannot be put in place (here its final name is taken by a directory) fails the run before
    /// anything is deleted, and leaves no `.partial` file behind.
    @Test func aRetentionWhoseArchiveCannotBeFinishedDeletesNothingAndLeavesNoPartialFile() async throws {
        let clock = TestClock()
        let (harness, root) = try await BrokerHarness.unsealed(clock: clock)
        let directory = Self.temporaryArchivePath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await harness.withClient { api in
            for _ in 0..<4 { _ = try await api.send(.get, "sys/mounts", token: root) }
            let last = try #require(try await harness.store.auditRecords(after: 0, limit: 1000).last?.sequence)
            clock.advance(by: 86_400 * 2)
            _ = try await api.send(.get, "sys/mounts", token: root)
            // The documented archive name: audit-through-<last sequence>-<unix time>.jsonl.
            let taken = "audit-through-\(last)-\(Int64(clock.now.timeIntervalSince1970)).jsonl"
            try FileManager.default.createDirectory(
                atPath: (directory as NSString).appendingPathComponent(taken), withIntermediateDirectories: true)
            await #expect(throws: LeaseholdError.self) {
                _ = try await harness.broker.applyAuditRetention(cutoff: clock.now.addingTimeInterval(-86_400), directory: directory)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [taken])
            #expect(try await harness.store.auditRecords(after: 0, limit: 1).first?.sequence == 1)
            #expect(try await api.send(.get, "sys/audit-log/verify", token: root).data["intact"] == true)
        }
    }

    /// Rows an audit device has not delivered are never deleted, however old.
    @Test func retentionNeverDeletesRowsAnAuditDeviceHasNotDelivered() async throws {
        let clock = TestClock()
        let (harness, root) = try await BrokerHarness.unsealed(clock: clock)
        let directory = Self.temporaryArchivePath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await harness.withClient { api in
            for _ in 0..<3 { _ = try await api.send(.get, "sys/mounts", token: root) }
            // Enabled now, the device starts at the head; no sink runs in this harness, so nothing after is delivered.
            let enabled = try await api.send(.put, "sys/audit/file", token: root, json: ["type": "file", "options": ["file_path": .string(directory + "-device.log")]])
            #expect(enabled.status == 204, "\(enabled.text)")
            let delivered = try await harness.store.auditRecords(after: 0, limit: 1000).last?.sequence ?? 0
            for _ in 0..<3 { _ = try await api.send(.get, "sys/mounts", token: root) }
            clock.advance(by: 86_400 * 2)
            _ = try await api.send(.get, "sys/mounts", token: root)
            _ = try await harness.broker.applyAuditRetention(cutoff: clock.now.addingTimeInterval(-86_400), directory: directory)
            let first = try #require(try await harness.store.auditRecords(after: 0, limit: 1).first?.sequence)
            #expect(first <= delivered)
            #expect(first > 1)
        }
    }

    /// A malformed checkpoint key is an error, never silently replaced (which would also make old checkpoints
    /// unverifiable).
    @Test func aMalformedCheckpointKeyFailsClosed() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.put, "sys/audit-log/checkpoint", token: root, json: [:]).status == 200)
            let keys = try await harness.broker.seal.keys()
            let store = EncryptedStore(base: harness.sqlite, keyRing: keys.keyRing)
            let key = StoreKey(.auditTrail, "signing-key")
            try await harness.sqlite.commit(StoreBatch(operations: [.put(key, try store.seal(SecretValue("not hex"), for: key), .none)]))
            #expect(try await api.send(.put, "sys/audit-log/checkpoint", token: root, json: [:]).status == 500)
            #expect(try await api.send(.get, "sys/audit-log/verify", token: root).status == 500)
        }
    }

    @Test func retentionArchivesAndDeletesOldRowsAndTheRestStillVerifies() async throws {
        let clock = TestClock()
        let (harness, root) = try await BrokerHarness.unsealed(clock: clock)
        let archive = Self.temporaryArchivePath()
        try await harness.withClient { api in
            for _ in 0..<4 { _ = try await api.send(.get, "sys/mounts", token: root) }
            clock.advance(by: 86_400 * 2)
            for _ in 0..<3 { _ = try await api.send(.get, "sys/mounts", token: root) }
            let before = try await harness.store.auditRecords(after: 0, limit: 1000)
            let path = try await harness.broker.applyAuditRetention(cutoff: clock.now.addingTimeInterval(-86_400), directory: archive)
            let archived = try #require(path.flatMap { FileManager.default.contents(atPath: $0) })
            let lines = String(decoding: archived, as: UTF8.self).split(separator: "\n")
            let after = try await harness.store.auditRecords(after: 0, limit: 1000)
            #expect(lines.count + after.count == before.count + 1)  // +1: the retention record itself
            #expect(after.first?.sequence == Int64(lines.count + 1))
            let report = try await api.send(.get, "sys/audit-log/verify", token: root)
            #expect(report.data["intact"] == true, "\(report.text)")
            #expect(report.data["anchor_sequence"] == .int(lines.count))
        }
        try? FileManager.default.removeItem(atPath: archive)
    }
}

@Suite("Audit log: lease history over real PostgreSQL", .enabled(if: DatabaseTarget.isAvailable), .serialized)
struct LeaseHistoryTests {
    /// A lease with more records than a timeline lists still shows how and when it ended, and is not named as a
    /// user's holder after that: before, only the oldest 1,000 records were read.
    @Test func aLongLivedLeaseStillShowsItsEnding() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true, clock: TestClock.system)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target)
            let creds = try await api.send(.get, "database/creds/reader", token: root)
            let lease = try #require(creds.object["lease_id"]?.stringValue)
            let username = try #require(creds.data["username"]?.stringValue)
            for _ in 0..<501 {
                #expect(try await api.send(.put, "sys/leases/renew", token: root, json: ["lease_id": .string(lease), "increment": 600]).status == 200)
            }
            #expect(try await api.send(.put, "sys/leases/revoke", token: root, json: ["lease_id": .string(lease)]).status == 204)
            let auditor = try await AuditLogTests().auditorToken(api, root: root)
            let history = try await api.send(.get, "sys/audit-log/lease?lease_id=\(lease)", token: auditor).data
            #expect(history["ended_by"] == "lease.revoke")
            #expect(history["ended_at"] != .null)
            #expect(history["events_truncated"] == true)
            #expect(try await api.send(.get, "sys/audit-log/holder?db_username=\(username)", token: auditor).status == 404)
        }
        try await target.drop()
    }

    @Test func everyLeasePathIsRecordedWithIdentityAndEnvironmentAndTheHolderIsFound() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true, clock: TestClock.system)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target, role: ["default_ttl": "1h"])
            #expect(try await api.send(.post, "database/roles/short", token: root, json: ["db_name": "pg", "creation_statements": .string(target.groupRoleStatement), "default_ttl": "1s"]).status == 204)
            #expect(try await api.send(.post, "database/roles/broken", token: root, json: ["db_name": "pg", "creation_statements": "GRANT no_such_role_anywhere TO \"{{name}}\";"]).status == 204)
            _ = try await api.send(.put, "sys/policies/acl/app", token: root, json: ["policy": "path \"database/creds/*\" { capabilities = [\"read\"] }\npath \"sys/leases/*\" { capabilities = [\"update\"] }"])
            let app = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["app"], "display_name": "payments"]).clientToken
            func issue(_ role: String) async throws -> (lease: String, username: String) {
                let creds = try await api.send(.get, "database/creds/\(role)", token: app)
                return (creds.object["lease_id"]?.stringValue ?? "", creds.data["username"]?.stringValue ?? "")
            }
            let renewed = try await issue("reader")
            #expect(try await api.send(.put, "sys/leases/renew", token: app, json: ["lease_id": .string(renewed.lease), "increment": 600]).status == 200)
            #expect(try await api.send(.put, "sys/leases/revoke", token: app, json: ["lease_id": .string(renewed.lease)]).status == 204)
            let forced = try await issue("reader")
            #expect(try await api.send(.put, "sys/leases/revoke-force/\(forced.lease)", token: root, json: [:]).status == 204)
            let expiring = try await issue("short")
            // Wait for the reaper's audit row, not just the dropped user: the row is committed after the drop.
            try await harness.withReaper {
                for _ in 0..<100 {
                    let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
                    if records.contains(where: { $0.event.type == "lease.expire" && $0.event.details["lease_id"] == expiring.lease }) { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(try await !target.roleExists(expiring.username))
            #expect(try await api.send(.get, "database/creds/broken", token: app).status >= 400)

            let auditor = try await AuditLogTests().auditorToken(api, root: root)
            func timeline(_ lease: String) async throws -> [String: JSONValue] {
                try await api.send(.get, "sys/audit-log/lease?lease_id=\(lease)", token: auditor).data
            }
            let history = try await timeline(renewed.lease)
            #expect(history["db_username"]?.stringValue == renewed.username)
            #expect(history["identity"]?.objectValue?["display_name"] == "token-payments")
            #expect(history["environment"] == "default")
            #expect(history["renewals"] == 1)
            #expect(history["ended_by"] == "lease.revoke")
            // The lease's own steps, and the requests that caused them (annotated with the lease id).
            let types = (history["events"]?.arrayValue ?? []).compactMap { $0.objectValue?["type"]?.stringValue }
            #expect(types.filter { $0.hasPrefix("lease.") } == ["lease.pending", "lease.issue", "lease.renew", "lease.revoke"])
            #expect(types.filter { $0 == "request" }.count == 3)
            #expect(try await timeline(forced.lease)["ended_by"] == "lease.force")
            let expired = try await timeline(expiring.lease)
            #expect(expired["ended_by"] == "lease.expire", "\(expired)")
            let failed = try await api.send(.get, "sys/audit-log?type=lease.failed&display_name=token-payments", token: auditor)
            #expect((failed.data["records"]?.arrayValue ?? []).count == 1)
            // Who held the renewed user while it was live; nobody after its revocation.
            let issuedAt = try #require(history["issued_at"]?.stringValue)
            let holder = try await api.send(.get, "sys/audit-log/holder?db_username=\(renewed.username)&time=\(issuedAt)", token: auditor)
            #expect(holder.data["lease_id"]?.stringValue == renewed.lease, "\(holder.text)")
            let later = try await api.send(.get, "sys/audit-log/holder?db_username=\(renewed.username)", token: auditor)
            #expect(later.status == 404)
        }
        try await target.drop()
    }
}
