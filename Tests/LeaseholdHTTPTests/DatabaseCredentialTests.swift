import Foundation
import HTTPTypes
import LeaseholdCore
import LeaseholdService
import LeaseholdTestSupport
import Testing

/// Mounts the engine, configures `target` as connection `pg` and a group-role `reader` role.
func configureDatabase(
    _ api: APIClient, root: String, target: DatabaseTarget, role extra: [String: JSONValue] = [:],
    admin: (username: String, password: String)? = nil
) async throws {
    let mount = try await api.send(.post, "sys/mounts/database", token: root, json: ["type": "database"])
    #expect(mount.status == 204)
    guard case .object(var fields) = target.configFields else { return }
    if let admin {
        fields["username"] = .string(admin.username)
        fields["password"] = .string(admin.password)
    }
    let config = try await api.send(.post, "database/config/pg", token: root, json: .object(fields))
    #expect(config.status == 204, "\(config.text)")
    var role: [String: JSONValue] = [
        "db_name": "pg", "creation_statements": .string(target.groupRoleStatement), "default_ttl": "1h", "max_ttl": "2h",
    ]
    role.merge(extra) { _, new in new }
    let written = try await api.send(.post, "database/roles/reader", token: root, json: .object(role))
    #expect(written.status == 204 || written.status == 200, "\(written.text)")
}

/// Configures `reader` with a creation template that takes a second on the target, so a test can act while an
/// issuance is running.
func configureSlowIssuance(_ api: APIClient, root: String, target: DatabaseTarget) async throws {
    try await configureDatabase(
        api, root: root, target: target, role: ["creation_statements": .strings([target.groupRoleStatement, "SELECT pg_sleep(1)"])])
}

/// Runs `body` on an unsealed broker with engines and a fresh target configured as connection `pg` with the
/// group-role `reader` role (``configureDatabase``, or ``configureSlowIssuance`` with `slowIssuance`); the target
/// is dropped afterwards, also when `body` fails.
func withReaderRole(
    slowIssuance: Bool = false,
    _ body: @Sendable (_ harness: BrokerHarness, _ api: APIClient, _ root: String, _ target: DatabaseTarget) async throws -> Void
) async throws {
    let target = try await DatabaseTarget.make()
    do {
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            if slowIssuance {
                try await configureSlowIssuance(api, root: root, target: target)
            } else {
                try await configureDatabase(api, root: root, target: target)
            }
            try await body(harness, api, root, target)
        }
    } catch {
        try? await target.drop()
        throw error
    }
    try await target.drop()
}

/// The database users issuances started, from their `lease.pending` audit rows.
func pendingUsernames(_ harness: BrokerHarness) async throws -> [String] {
    try await harness.store.auditRecords(after: 0, limit: 10_000)
        .filter { $0.event.type == "lease.pending" }.compactMap { $0.event.details["db_username"] }
}

/// Expects each of `names` to disappear from the target.
func expectRemoved(_ names: [String], from target: DatabaseTarget) async throws {
    for name in names {
        let gone = try await target.roleDisappears(name)
        #expect(gone, "\(name) should be removed")
    }
}

@Suite("Dynamic PostgreSQL credentials", .enabled(if: DatabaseTarget.isAvailable), .serialized)
struct DatabaseCredentialTests {
    @Test func issuedCredentialsLogInAndCanDoWhatTheTemplateGrantsAndNothingMore() async throws {
        try await withReaderRole { harness, api, root, target in
            let creds = try await api.send(.get, "database/creds/reader", token: root)
            #expect(creds.status == 200, "\(creds.text)")
            let username = try #require(creds.data["username"]?.stringValue)
            let password = try #require(creds.data["password"]?.stringValue)
            #expect(creds.object["lease_id"]?.stringValue?.hasPrefix("database/creds/reader/") == true)
            #expect(creds.object["lease_duration"] == 3600)
            #expect(creds.object["renewable"] == true)
            #expect(username.utf8.count <= 63)
            #expect(try await target.query("SELECT count(*)::text FROM items", as: username, password: password) == ["2"])
            await #expect(throws: (any Error).self) {
                _ = try await target.query("INSERT INTO items VALUES (3)", as: username, password: password)
            }
            let marker = try await target.query(
                "SELECT shobj_description(r.oid, 'pg_authid') FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles b ON b.oid = m.roleid WHERE b.rolname = 'leasehold_managed' AND r.rolname = '\(username)'")
            #expect(marker.first?.hasPrefix("leasehold:") == true)
            #expect(marker.first?.hasSuffix(":" + (creds.object["lease_id"]?.stringValue ?? "-")) == true)
            // The audit table names the user and lease, never the password.
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            let issue = records.last { $0.event.type == "lease.issue" }
            #expect(issue?.event.details["db_username"] == username)
            let everything = try records.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!everything.contains(password))
            #expect(records.contains { $0.event.type == "lease.pending" })
        }
    }

    /// The pending intent commits while the target transaction runs; when that commit fails, the request fails and
    /// the target never sees the user (its transaction waits for the intent and rolls back).
    @Test func aStoreThatCannotCommitTheIntentLeavesNoUserOnTheTarget() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            // A capped role: after the failed intents the next request is served (nothing of theirs holds the cap's
            // turn) and the one after is refused (they took no place).
            try await configureDatabase(api, root: root, target: target, role: ["max_leases_per_identity": 1])
            // Roles are cluster-wide and other suites create managed users meanwhile: count only this broker's.
            let clusterID = try await api.send(.get, "sys/seal-status").object["cluster_id"]?.stringValue ?? ""
            let managed = "SELECT count(*)::text FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE 'leasehold:\(clusterID):%'"
            #expect(try await target.query(managed) == ["0"])
            harness.store.failCommits(true)
            for _ in 0..<5 {
                let refused = try await api.send(.get, "database/creds/reader", token: root)
                #expect(refused.status >= 500, "\(refused.text)")
                #expect(!refused.text.contains("injected"))
            }
            harness.store.failCommits(false)
            #expect(try await target.query(managed) == ["0"])
            #expect(try await api.send(.get, "database/creds/reader", token: root).status == 200)
            #expect(try await target.query(managed) == ["1"])
            #expect(try await api.send(.get, "database/creds/reader", token: root).status == 429)
        }
        try await target.drop()
    }

    /// A credential created on the target whose response then fails (here: a wrap TTL over the maximum) is never
    /// returned, so its user is revoked at once rather than at the pending deadline.
    @Test func aCredentialThatIsNeverReturnedIsRevokedAtOnce() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true, clock: TestClock.system)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target)
            let wrapped: HTTPFields = [HTTPField.Name("X-Vault-Wrap-TTL")!: "9999h"]
            let refused = try await api.send(.get, "database/creds/reader", token: root, headers: wrapped)
            #expect(refused.status == 400, "\(refused.text)")
            var abandoned: AuditRecord?
            for _ in 0..<100 where abandoned == nil {
                abandoned = try await harness.store.auditRecords(after: 0, limit: 10_000).last { $0.event.type == "lease.abandoned" }
                if abandoned == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let username = try #require(abandoned?.event.details["db_username"])
            try await harness.withReaper {
                let gone = try await target.roleDisappears(username)
                #expect(gone, "\(username) is still on the target")
            }
        }
        try await target.drop()
    }

    /// Requests cancelled at every point of their run (before the target, during its transaction, around the final
    /// commit) leave no database user without a lease: once the reaper has passed the pending deadline, the managed
    /// users on the target are exactly those of the issued leases. This is how OpenBao orphans users when a client
    /// goes away mid-request; here the target commits only after the intent is durable, and the reaper removes what
    /// a pending lease names.
    @Test func cancelledIssuancesLeaveNoUserWithoutALease() async throws {
        let target = try await DatabaseTarget.make()
        let clock = TestClock()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true, clock: clock)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target)
            let clusterID = try await api.send(.get, "sys/seal-status").object["cluster_id"]?.stringValue ?? ""
            let managed = "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE 'leasehold:\(clusterID):%'"
            for step in 0..<16 {
                let request = Task { try await api.send(.get, "database/creds/reader", token: root) }
                try await Task.sleep(for: .microseconds(1_500 * step))
                request.cancel()
                _ = try? await request.value
            }
            // Cancelled engine calls finish in the background; then every pending lease is past its deadline.
            try await Task.sleep(for: .seconds(2))
            clock.advance(by: 121)
            try await harness.withReaper {
                var onTarget: Set<String> = []
                var issued: Set<String> = []
                for _ in 0..<100 {
                    let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
                    issued = Set(records.filter { $0.event.type == "lease.issue" }.compactMap { $0.event.details["db_username"] })
                    onTarget = Set(try await target.query(managed))
                    if onTarget == issued { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(onTarget == issued, "users without a lease: \(onTarget.subtracting(issued))")
                let pending = try await harness.store.auditRecords(after: 0, limit: 10_000).filter { $0.event.type == "lease.pending" }
                #expect(pending.count >= 8, "most requests should have reached the target: \(pending.count)")
            }
        }
        try await target.drop()
    }

    @Test func validateRoleDryRunsOnTheTargetAndLeavesNothing() async throws {
        try await withReaderRole { harness, api, root, target in
            let good = try await api.send(.post, "database/validate-role", token: root, json: ["db_name": "pg", "creation_statements": .string(target.groupRoleStatement)])
            #expect(good.status == 200, "\(good.text)")
            #expect(good.object["warnings"] == .null)
            let perObject = try await api.send(.post, "database/validate-role", token: root, json: [
                "db_name": "pg",
                "creation_statements": "CREATE ROLE \"{{name}}\" LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";",
            ])
            #expect(perObject.status == 200)
            #expect(perObject.object["warnings"] != .null)
            let broken = try await api.send(.post, "database/validate-role", token: root, json: [
                "db_name": "pg", "creation_statements": "CREATE ROLE \"{{name}}\" LOGIN PASSWORD '{{password}}'; GRANT nonexistent_group TO \"{{name}}\";",
            ])
            #expect(broken.status == 400)
            #expect(broken.errors.first?.contains("statement 2") == true, "\(broken.text)")
            #expect(try await target.query("SELECT count(*)::text FROM pg_roles WHERE rolname LIKE 'v-validate-%'") == ["0"])
        }
    }

    @Test func renewalMovesValidUntilAndIsCappedWithAWarning() async throws {
        try await withReaderRole { harness, api, root, target in
            let creds = try await api.send(.get, "database/creds/reader", token: root)
            let username = try #require(creds.data["username"]?.stringValue)
            let leaseID = try #require(creds.object["lease_id"]?.stringValue)
            let before = try await target.query("SELECT extract(epoch FROM rolvaliduntil)::bigint::text FROM pg_roles WHERE rolname = '\(username)'")
            let renewed = try await api.send(.put, "sys/leases/renew", token: root, json: ["lease_id": .string(leaseID), "increment": "90m"])
            #expect(renewed.status == 200, "\(renewed.text)")
            #expect(renewed.object["lease_duration"] == 5400)
            let after = try await target.query("SELECT extract(epoch FROM rolvaliduntil)::bigint::text FROM pg_roles WHERE rolname = '\(username)'")
            #expect((Int(after.first ?? "") ?? 0) - (Int(before.first ?? "") ?? 0) >= 1799)
            let capped = try await api.send(.put, "sys/leases/renew", token: root, json: ["lease_id": .string(leaseID), "increment": "5h"])
            #expect(capped.status == 200)
            #expect((capped.object["lease_duration"].flatMap { if case .number(let n) = $0 { Int(n) } else { nil } } ?? 0) <= 7200)
            #expect(capped.object["warnings"] != .null)
            let lookup = try await api.send(.put, "sys/leases/lookup", token: root, json: ["lease_id": .string(leaseID)])
            #expect(lookup.data["id"] == .string(leaseID))
            let bogus = try await api.send(.put, "sys/leases/lookup", token: root, json: ["lease_id": "database/creds/reader/nope"])
            #expect(bogus.errors == ["invalid lease"])

            // The role is read again at every renewal, as in Vault: a lowered max_ttl shortens the lease, and a
            // deleted role renews nothing.
            let lowered: JSONValue = [
                "db_name": "pg", "creation_statements": .string(target.groupRoleStatement), "default_ttl": "30s", "max_ttl": "1m",
            ]
            let rewritten = try await api.send(.post, "database/roles/reader", token: root, json: lowered)
            #expect(rewritten.status == 204, "\(rewritten.text)")
            let shortened = try await api.send(.put, "sys/leases/renew", token: root, json: ["lease_id": .string(leaseID), "increment": "1h"])
            #expect(shortened.status == 200 || shortened.status == 400, "\(shortened.text)")
            #expect((shortened.object["lease_duration"]?.numberValue ?? 0) <= 60)
            #expect(try await api.send(.delete, "database/roles/reader", token: root).status == 204)
            let orphaned = try await api.send(.put, "sys/leases/renew", token: root, json: ["lease_id": .string(leaseID)])
            #expect(orphaned.status == 400)
        }
    }

    @Test func revocationEndsSessionsHandlesOwnedObjectsAndRemovesTheUser() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            let owner = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CREATE ON SCHEMA public TO \"{{name}}\";"
            try await configureDatabase(api, root: root, target: target, role: ["creation_statements": .string(owner)])
            let creds = try await api.send(.get, "database/creds/reader", token: root)
            let username = try #require(creds.data["username"]?.stringValue)
            let password = try #require(creds.data["password"]?.stringValue)
            _ = try await target.query("CREATE TABLE made_by_user (id int)", as: username, password: password)
            // A session that stays open during the revocation.
            let session = Task { try await target.query("SELECT pg_sleep(30)::text", as: username, password: password) }
            try await Task.sleep(for: .milliseconds(300))
            let revoked = try await api.send(.put, "sys/leases/revoke", token: root, json: ["lease_id": creds.object["lease_id"] ?? .null, "sync": true])
            #expect(revoked.status == 204, "\(revoked.text)")
            await #expect(throws: (any Error).self) { _ = try await session.value }
            #expect(try await target.roleExists(username) == false)
            #expect(try await target.query("SELECT count(*)::text FROM pg_tables WHERE tablename = 'made_by_user'") == ["1"])
            let again = try await api.send(.put, "sys/leases/lookup", token: root, json: ["lease_id": creds.object["lease_id"] ?? .null])
            #expect(again.status == 400)
        }
        try await target.drop()
    }

    @Test func revokingTheTokenRevokesItsLeasesUnlessTheRoleSaysOtherwise() async throws {
        try await withReaderRole { harness, api, root, target in
            _ = try await api.send(.post, "database/roles/keeper", token: root, json: [
                "db_name": "pg", "creation_statements": .string(target.groupRoleStatement), "leases_outlive_token": true,
            ])
            _ = try await api.send(.put, "sys/policies/acl/app", token: root, json: ["policy": "path \"database/creds/*\" { capabilities = [\"read\"] }"])
            let app = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["app"]]).clientToken
            let dying = try await api.send(.get, "database/creds/reader", token: app).data["username"]?.stringValue ?? "-"
            let surviving = try await api.send(.get, "database/creds/keeper", token: app).data["username"]?.stringValue ?? "-"
            try await harness.withReaper {
                #expect(try await api.send(.put, "auth/token/revoke", token: root, json: ["token": .string(app)]).status == 204)
                let gone = try await target.roleDisappears(dying)
                #expect(gone)
                #expect(try await target.roleExists(surviving))
            }
        }
    }

    @Test func anExpiringTokenTakesItsLeasesWithIt() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true, clock: TestClock.system)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target)
            let shortLived = try await api.send(.post, "auth/token/create", token: root, json: ["ttl": "2s"]).clientToken
            let username = try await api.send(.get, "database/creds/reader", token: shortLived).data["username"]?.stringValue ?? "-"
            #expect(try await target.roleExists(username))
            try await harness.withReaper {
                let gone = try await target.roleDisappears(username, within: .seconds(6))
                #expect(gone)
            }
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            #expect(records.contains { $0.event.type == "token.expire" })
        }
        try await target.drop()
    }

    /// A revocation that was asked for (here by revoking the owning token) and not yet carried out cannot be
    /// cancelled by a renewal: before, a renewal moved the lease's schedule back to its expiry and the user stayed.
    @Test func aLeaseBeingRevokedCannotBeRenewed() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true, clock: TestClock.system)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target)
            let owner = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["root"]]).clientToken
            let issued = try await api.send(.get, "database/creds/reader", token: owner)
            let leaseID = try #require(issued.object["lease_id"]?.stringValue)
            let username = try #require(issued.data["username"]?.stringValue)
            #expect(try await api.send(.put, "auth/token/revoke", token: root, json: ["token": .string(owner)]).status == 204)
            let renewal = try await api.send(.put, "sys/leases/renew", token: root, json: ["lease_id": .string(leaseID)])
            #expect(renewal.status == 400)
            #expect(renewal.errors == ["lease is being revoked and cannot be renewed"])
            try await harness.withReaper {
                let gone = try await target.roleDisappears(username)
                #expect(gone)
            }
        }
        try await target.drop()
    }

    /// A token revoked while one of its issuances is running never gets that credential, and the user it made is
    /// removed: before, the cascade skipped the pending lease, which then became active with no owner to revoke it.
    @Test func aTokenRevokedDuringAnIssuanceNeverGetsTheCredential() async throws {
        try await withReaderRole(slowIssuance: true) { harness, api, root, target in
            let owner = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["root"]]).clientToken
            let issuance = Task { try await api.send(.get, "database/creds/reader", token: owner) }
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await api.send(.put, "auth/token/revoke", token: root, json: ["token": .string(owner)]).status == 204)
            let reply = try await issuance.value
            #expect(reply.status == 403, "\(reply.text)")
            #expect(reply.data["password"] == nil)
            let created = try await pendingUsernames(harness)
            #expect(created.count == 1)
            harness.clock.advance(by: 121)
            try await harness.withReaper { try await expectRemoved(created, from: target) }
        }
    }

    /// Deleting a connection that no lease uses removes it; with leases it is retired: hidden from read and list,
    /// refused for new credentials, and still there to revoke its leases.
    @Test func aConnectionWithLeasesIsRetiredAndOneWithoutIsDeleted() async throws {
        try await withReaderRole { harness, api, root, target in
            let issued = try await api.send(.get, "database/creds/reader", token: root)
            let username = try #require(issued.data["username"]?.stringValue)
            let leaseID = try #require(issued.object["lease_id"]?.stringValue)

            #expect(try await api.send(.delete, "database/config/pg", token: root).status == 204)
            #expect(try await api.send(.get, "database/config/pg", token: root).status == 404)
            #expect(try await api.send(.list, "database/config", token: root).data["keys"] == nil)
            let refused = try await api.send(.get, "database/creds/reader", token: root)
            #expect(refused.status == 400)
            #expect(refused.errors == ["unknown database connection pg for role reader"])
            let revoked = try await api.send(.put, "sys/leases/revoke", token: root, json: ["lease_id": .string(leaseID)])
            #expect(revoked.status == 204)
            #expect(try await target.roleDisappears(username), "the retired connection still revokes its leases")

            // No lease left: deleting it again removes it for good, and the name can be configured afresh.
            #expect(try await api.send(.delete, "database/config/pg", token: root).status == 204)
            let key = StoreKey(.databaseConnections, "database/pg")
            #expect(try await harness.store.entry(key) == nil)
            guard case .object(let fields) = target.configFields else { return }
            #expect(try await api.send(.post, "database/config/pg", token: root, json: .object(fields)).status == 204)
            #expect(try await api.send(.get, "database/creds/reader", token: root).status == 200)
        }
    }

    /// A connection deleted while an issuance on it is running: the issuance read the connection before the
    /// delete looked for leases, and commits its pending lease after. That commit now fails (the connection
    /// changed), the request is retried and refused, and no user is left without a lease. Before, the delete
    /// removed the connection and the lease that followed could never be revoked.
    @Test func aConnectionDeletedDuringAnIssuanceLeavesNoLeaseItCannotRevoke() async throws {
        try await withReaderRole { harness, api, root, target in
            let key = StoreKey(.databaseConnections, "database/pg")
            harness.store.holdCommits(checking: key)
            let issuance = Task { try await api.send(.get, "database/creds/reader", token: root) }
            #expect(try await eventually { harness.store.heldCommitCount == 1 }, "the pending lease waits to commit")

            #expect(try await api.send(.delete, "database/config/pg", token: root).status == 204)
            #expect(try await harness.store.entry(key) == nil, "no lease was committed yet: deleted")
            harness.store.holdCommits(checking: nil)

            let started = ContinuousClock.now
            let reply = try await issuance.value
            #expect(ContinuousClock.now - started < .seconds(5), "the refused issuance did not wait for its 10 s deadline")
            #expect(reply.status == 400, "\(reply.text)")
            #expect(reply.errors == ["unknown database connection pg for role reader"])
            #expect(try await api.send(.list, "sys/leases/lookup/database/creds/reader/", token: root).status == 404)
            let clusterID = await harness.broker.seal.status().clusterID
            let marked = try await target.query(
                "SELECT count(*)::text FROM pg_shdescription WHERE description LIKE 'leasehold:\(clusterID):%'")
            #expect(marked == ["0"], "the target transaction never committed: no user of this broker exists")
        }
    }

    /// A connection rewritten while an issuance runs on it: the next issuance replaces the engine, and the old one
    /// closes its pool only once the running transaction has ended, so both issuances succeed. Before, the pool
    /// was closed under the running transaction, which hung until its 10 s deadline and failed.
    @Test func anIssuanceOutlivesTheReplacementOfItsEngine() async throws {
        try await withReaderRole(slowIssuance: true) { harness, api, root, target in
            let started = ContinuousClock.now
            let first = Task { try await api.send(.get, "database/creds/reader", token: root) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await api.send(.post, "database/config/pg", token: root, json: ["max_open_connections": 3]).status == 204)
            let second = try await api.send(.get, "database/creds/reader", token: root)
            let replies = [try await first.value, second]
            #expect(ContinuousClock.now - started < .seconds(8), "nothing waited for the 10 s deadline")
            for reply in replies {
                #expect(reply.status == 200, "\(reply.text)")
                let username = try #require(reply.data["username"]?.stringValue)
                #expect(try await target.roleExists(username))
            }
        }
    }

    /// A token's last use revokes it, and the leases it owns, in that request's commit: a credential issued then
    /// is refused rather than left to a revoked token (it was, and only its TTL ended it). Earlier uses issue.
    @Test func aTokensLastUseCannotOwnANewLease() async throws {
        try await withReaderRole { harness, api, root, target in
            let limited = try await api.send(.post, "auth/token/create", token: root, json: ["num_uses": 2, "policies": ["root"]]).clientToken
            #expect(try await api.send(.get, "database/creds/reader", token: limited).status == 200)
            let last = try await api.send(.get, "database/creds/reader", token: limited)
            #expect(last.status == 400)
            #expect(last.errors == ["this is the token's last use: a lease it owns would be revoked with it at once"])
            #expect(try await api.send(.get, "auth/token/lookup-self", token: limited).status == 200, "the refusal used nothing")
            #expect(try await api.send(.get, "auth/token/lookup-self", token: limited).status == 403)
            // A role whose leases outlive their token issues on the last use too: the lease does not die with it.
            #expect(try await api.send(.post, "database/roles/reader", token: root, json: ["leases_outlive_token": true]).status == 204)
            let once = try await api.send(.post, "auth/token/create", token: root, json: ["num_uses": 1, "policies": ["root"]]).clientToken
            let kept = try await api.send(.get, "database/creds/reader", token: once)
            #expect(kept.status == 200, "\(kept.text)")
        }
    }

    /// `revoke-self` as a token's last use revokes it and its leases (the use already staged that revocation; staging
    /// it twice made the request conflict with itself and answer 409 after eight tries).
    @Test func revokeSelfOnTheLastUseRevokesTheTokenAndItsLeases() async throws {
        try await withReaderRole { harness, api, root, target in
            let limited = try await api.send(.post, "auth/token/create", token: root, json: ["num_uses": 2, "policies": ["root"]]).clientToken
            let issued = try await api.send(.get, "database/creds/reader", token: limited)
            let username = try #require(issued.data["username"]?.stringValue)
            #expect(try await api.send(.put, "auth/token/revoke-self", token: limited, json: [:]).status == 204)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: limited).status == 403)
            try await harness.withReaper { try await expectRemoved([username], from: target) }

            // The same when the last use revokes a tree that holds the caller (its parent, by accessor).
            let parent = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["root"]])
            let child = try await api.send(.post, "auth/token/create", token: parent.clientToken, json: ["num_uses": 2]).clientToken
            let second = try #require(try await api.send(.get, "database/creds/reader", token: child).data["username"]?.stringValue)
            let accessor = try #require(parent.auth["accessor"]?.stringValue)
            #expect(try await api.send(.put, "auth/token/revoke-accessor", token: child, json: ["accessor": .string(accessor)]).status == 204)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: parent.clientToken).status == 403)
            try await harness.withReaper { try await expectRemoved([second], from: target) }
        }
    }

    /// revoke-prefix while an issuance runs cancels that issuance instead of revoking a user that may not exist
    /// yet: its credential is never returned (the request is answered with a fresh one), and its user is removed.
    /// Before, the pending lease was removed at once and the user created right after had no lease.
    @Test func revokePrefixCancelsIssuancesInFlight() async throws {
        try await withReaderRole(slowIssuance: true) { harness, api, root, target in
            let issuance = Task { try await api.send(.get, "database/creds/reader", token: root) }
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await api.send(.put, "sys/leases/revoke-prefix/database/creds/reader", token: root, json: [:]).status == 204)
            let reply = try await issuance.value
            #expect(reply.status == 200, "\(reply.text)")
            let returned = try #require(reply.data["username"]?.stringValue)
            let cancelled = try await pendingUsernames(harness).filter { $0 != returned }
            #expect(cancelled.count == 1)
            harness.clock.advance(by: 121)
            try await harness.withReaper { try await expectRemoved(cancelled, from: target) }
            #expect(try await target.roleExists(returned))
        }
    }

    /// The schedule keeps whole milliseconds, so a lease comes due up to a millisecond before the instant it
    /// expires: that is still an expiry in the audit trail, not a revocation (it was, now and then).
    @Test func aLeaseDueWithinItsLastMillisecondIsRecordedAsExpired() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target, role: ["default_ttl": "1s"])
            let issuedAt = harness.clock.now
            let lease = try #require(try await api.send(.get, "database/creds/reader", token: root).object["lease_id"]?.stringValue)
            let expiry = issuedAt.addingTimeInterval(1).timeIntervalSince1970
            let millisecondStart = (expiry * 1000).rounded(.down) / 1000
            // Halfway between the start of that millisecond and the expiry (a Double sum could land just before the
            // millisecond otherwise); an expiry right on a millisecond has nothing to show.
            guard expiry - millisecondStart > 1e-5 else { return }
            harness.clock.advance(by: (millisecondStart + expiry) / 2 - issuedAt.timeIntervalSince1970)
            let ended = try await harness.withReaper {
                try await eventually(timeout: .seconds(10)) {
                    try await harness.store.auditRecords(after: 0, limit: 10_000)
                        .contains { LeaseEventType.endings.contains($0.event.type) && $0.event.details["lease_id"] == lease }
                }
            }
            #expect(ended)
            let ending = try await harness.store.auditRecords(after: 0, limit: 10_000)
                .first { LeaseEventType.endings.contains($0.event.type) && $0.event.details["lease_id"] == lease }
            #expect(ending?.event.type == LeaseEventType.expire)
        }
        try await target.drop()
    }

    @Test func environmentsAreHardWallsWhateverThePolicies() async throws {
        try await withReaderRole { harness, api, root, target in
            _ = try await api.send(.put, "sys/policies/acl/everything", token: root, json: ["policy": "path \"*\" { capabilities = [\"read\", \"update\", \"list\"] }"])
            let prod = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["everything"], "environment": "prod"])
            #expect(prod.status == 200)
            let denied = try await api.send(.get, "database/creds/reader", token: prod.clientToken)
            #expect(denied.status == 403)
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            #expect(records.last?.event.environment == "prod")
            #expect(records.last?.event.outcome == "denied")

            // Nor may it see or touch the default environment's leases and tokens, sudo or not.
            _ = try await api.send(.put, "sys/policies/acl/everything", token: root, json: ["policy": "path \"*\" { capabilities = [\"read\", \"update\", \"list\", \"sudo\"] }"])
            let leaseID = try await api.send(.get, "database/creds/reader", token: root).object["lease_id"]?.stringValue ?? ""
            let other = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["everything"]])
            let accessor = other.auth["accessor"]?.stringValue ?? ""
            let intruder = prod.clientToken
            #expect(try await api.send(.put, "sys/leases/lookup", token: intruder, json: ["lease_id": .string(leaseID)]).status == 400)
            #expect(try await api.send(.put, "sys/leases/renew", token: intruder, json: ["lease_id": .string(leaseID)]).status == 400)
            #expect(try await api.send(.list, "sys/leases/lookup/database/creds/reader", token: intruder).status == 404)
            #expect(try await api.send(.list, "sys/leases/lookup/database/creds/reader", token: root).status == 200)
            #expect(try await api.send(.put, "auth/token/lookup-accessor", token: intruder, json: ["accessor": .string(accessor)]).status == 400)
            #expect(try await api.send(.put, "auth/token/revoke-accessor", token: intruder, json: ["accessor": .string(accessor)]).status == 400)
            #expect(try await api.send(.put, "sys/leases/revoke", token: intruder, json: ["lease_id": .string(leaseID)]).status == 400)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: other.clientToken).status == 200)
            #expect(try await api.send(.put, "sys/leases/lookup", token: root, json: ["lease_id": .string(leaseID)]).status == 200)
        }
    }

    /// Concurrent requests with one key race; the losers' final commits conflict, they are retried and return the
    /// winner's credential, and the users they had created (never returned) are revoked at once, not left to the
    /// pending deadline: every created user is either the one returned or an abandoned, revoked one.
    @Test func usersOfRequestsThatLostARaceAreRevokedAtOnce() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true, clock: TestClock.system)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target)
            let key: HTTPFields = [HTTPField.Name("X-Request-Key")!: "race-1"]
            let usernames = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await api.send(.get, "database/creds/reader", token: root, headers: key).data["username"]?.stringValue ?? "" }
                }
                var names: Set<String> = []
                for try await name in group { names.insert(name) }
                return names
            }
            #expect(usernames.count == 1 && usernames.first?.isEmpty == false)
            try await harness.withReaper {
                let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
                let created = records.filter { $0.event.type == "lease.pending" }.compactMap { $0.event.details["db_username"] }
                let abandoned = records.filter { $0.event.type == "lease.abandoned" }.compactMap { $0.event.details["db_username"] }
                #expect(Set(created) == usernames.union(abandoned))
                for name in abandoned {
                    let gone = try await target.roleDisappears(name)
                    #expect(gone, "\(name) should be revoked at once")
                }
            }
        }
        try await target.drop()
    }

    @Test func requestKeysReturnTheSameCredentialAndCapsAnswer429() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target, role: ["max_active_leases": 2])
            let key: HTTPFields = [HTTPField.Name("X-Request-Key")!: "pod-1234"]
            let first = try await api.send(.get, "database/creds/reader", token: root, headers: key)
            let second = try await api.send(.get, "database/creds/reader", token: root, headers: key)
            #expect(first.data["username"] == second.data["username"])
            #expect(first.data["password"] == second.data["password"])
            #expect(first.object["lease_id"] == second.object["lease_id"])
            #expect(try await api.send(.get, "database/creds/reader", token: root).status == 200)
            let capped = try await api.send(.get, "database/creds/reader", token: root)
            #expect(capped.status == 429)
        }
        try await target.drop()
    }

    /// Concurrent requests never take more places than a cap allows: per identity (each identity has its own count,
    /// and a revoked lease frees its place) and per role.
    @Test func capsHoldUnderConcurrentRequests() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target, role: ["max_leases_per_identity": 2])
            func token(_ name: String) async throws -> String {
                try await api.send(.post, "auth/token/create", token: root, json: ["display_name": .string(name)]).clientToken
            }
            func burst(_ token: String, _ count: Int) async throws -> [APIClient.Reply] {
                try await withThrowingTaskGroup(of: APIClient.Reply.self) { group in
                    for _ in 0..<count { group.addTask { try await api.send(.get, "database/creds/reader", token: token) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            let alice = try await token("alice")
            let first = try await burst(alice, 8)
            #expect(first.filter { $0.status == 200 }.count == 2)
            #expect(first.filter { $0.status == 429 }.count == 6)
            let bob = try await token("bob")
            #expect(try await burst(bob, 3).filter { $0.status == 200 }.count == 2, "another identity has its own places")
            let lease = try #require(first.first { $0.status == 200 }?.object["lease_id"]?.stringValue)
            #expect(try await api.send(.put, "sys/leases/revoke", token: root, json: ["lease_id": .string(lease)]).status == 204)
            #expect(try await burst(alice, 4).filter { $0.status == 200 }.count == 1, "the revoked lease freed one place")

            let role = try await api.send(.post, "database/roles/reader", token: root, json: ["max_leases_per_identity": 0, "max_active_leases": 6])
            #expect(role.status == 204, "\(role.text)")
            let carol = try await token("carol")
            let capped = try await burst(carol, 8)
            #expect(capped.filter { $0.status == 200 }.count == 2, "4 leases are held already: 2 places are left")
            #expect(capped.filter { $0.status == 429 }.count == 6)
            // Leases the broker forgets (revoke-force) free their places too.
            #expect(try await api.send(.put, "sys/leases/revoke-force/database/creds/reader", token: root).status == 204)
            #expect(try await burst(carol, 8).filter { $0.status == 200 }.count == 6)
        }
        try await target.drop()
    }

    @Test func hostileIdentitiesAndTemplatesCannotChangeStatements() async throws {
        try await withReaderRole { harness, api, root, target in
            let hostile = "x\"; DROP TABLE canary; --'$$\u{0}é"
            let token = try await api.send(.post, "auth/token/create", token: root, json: ["display_name": .string(hostile), "meta": ["team": .string(hostile)]]).clientToken
            let creds = try await api.send(.get, "database/creds/reader", token: token)
            #expect(creds.status == 200, "\(creds.text)")
            let username = creds.data["username"]?.stringValue ?? ""
            #expect(username.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") })
            #expect(try await target.query("SELECT count(*)::text FROM canary") == ["0"])
            // Hostile role and connection names never reach the target: they are refused at the API.
            for name in ["bad\"name", "x;drop", "a b", "é"] {
                let escaped = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
                let reply = try await api.send(.post, "database/roles/\(escaped)", token: root, json: ["db_name": "pg", "creation_statements": .string(target.groupRoleStatement)])
                #expect(reply.status == 400, "\(name)")
            }
            // A template trying to smuggle a second statement through a placeholder value.
            let sneaky = try await api.send(.post, "database/roles/sneaky", token: root, json: [
                "db_name": "pg", "creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
            ])
            #expect(sneaky.status == 204)
            #expect(try await target.query("SELECT count(*)::text FROM canary") == ["0"])
        }
    }

    @Test(.enabled(if: FileManager.default.isReadableFile(atPath: TargetStatementLog.path)))
    func withStatementLoggingOnlyTheExpectedStatementsRan() async throws {
        let target = try await DatabaseTarget.make()
        try await target.database.execute("ALTER DATABASE \(target.database.name) SET log_statement = 'all'")
        let log = try TargetStatementLog()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target)
            let hostile = "x\"; DROP TABLE canary; --'$$é"
            let token = try await api.send(.post, "auth/token/create", token: root, json: ["display_name": .string(hostile)]).clientToken
            let creds = try await api.send(.get, "database/creds/reader", token: token)
            let username = try #require(creds.data["username"]?.stringValue)
            _ = try await api.send(.put, "sys/leases/revoke", token: root, json: ["lease_id": creds.object["lease_id"] ?? .null])
            try await Task.sleep(for: .milliseconds(300))
            let statements = try log.statements(mentioning: username)
            #expect(!statements.isEmpty, "no logged statement names the user: is log_statement honoured?")
            let allowed = ["CREATE ROLE", "GRANT", "COMMENT ON ROLE", "ALTER ROLE", "DROP ROLE", "SELECT", "REVOKE", "REASSIGN OWNED", "DROP OWNED"]
            for statement in statements {
                #expect(allowed.contains { statement.hasPrefix($0) }, "unexpected statement: \(statement.prefix(200))")
                #expect(!statement.contains("DROP TABLE"))
            }
            #expect(try await target.query("SELECT count(*)::text FROM canary") == ["0"])
        }
        try await target.drop()
    }

    @Test func twoHundredLeasesAreRevokedWithinASecondOfExpiry() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true, clock: TestClock.system)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target, role: ["default_ttl": "2s", "max_ttl": "2s"])
            try await harness.withReaper {
                var usernames: [String] = []
                try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<200 {
                        group.addTask {
                            try await api.send(.get, "database/creds/reader", token: root).data["username"]?.stringValue ?? ""
                        }
                    }
                    for try await name in group { usernames.append(name) }
                }
                // The exact expiry of each lease, from its audit row.
                var expiries: [String: Date] = [:]
                for record in try await harness.store.auditRecords(after: 0, limit: 100_000) where record.event.type == "lease.issue" {
                    if let name = record.event.details["db_username"], let text = record.event.details["expire_time"],
                        let expiry = ISO8601DateFormatter.withFractions.date(from: text), usernames.contains(name)
                    {
                        expiries[name] = expiry
                    }
                }
                #expect(expiries.count == 200)
                var lags: [TimeInterval] = []
                let deadline = Date().addingTimeInterval(20)
                var remaining = Set(expiries.keys)
                while !remaining.isEmpty && Date() < deadline {
                    let present = Set(try await target.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%'"))
                    let now = Date()
                    for name in remaining where !present.contains(name) {
                        lags.append(now.timeIntervalSince(expiries[name] ?? now))
                        remaining.remove(name)
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(remaining.isEmpty)
                lags.sort()
                let p99 = lags.isEmpty ? 99 : lags[min(lags.count - 1, Int(Double(lags.count) * 0.99))]
                print("reaper lag for 200 leases: p50 \(lags.isEmpty ? 0 : lags[lags.count / 2]) s, p99 \(p99) s")
                // The 1 s bound holds when the machine is not also running every other suite in parallel:
                // scripts/test.sh runs this test again on its own with LEASEHOLD_STRICT_TIMING=1.
                let bound: TimeInterval = ProcessInfo.processInfo.environment["LEASEHOLD_STRICT_TIMING"] == "1" ? 1.0 : 10.0
                #expect(p99 <= bound)
            }
        }
        try await target.drop()
    }

    @Test func reconcilerRevokesManagedUsersWithoutLeasesAndNothingElse() async throws {
        try await withReaderRole { harness, api, root, target in
            let live = try await api.send(.get, "database/creds/reader", token: root).data["username"]?.stringValue ?? "-"
            let orphan = "v-orphan-" + UUID().uuidString.prefix(8).lowercased()
            let bystander = "bystander_" + UUID().uuidString.prefix(8).lowercased()
            try await target.database.execute("CREATE ROLE \"\(orphan)\" LOGIN")
            try await target.database.execute("GRANT leasehold_managed TO \"\(orphan)\"")
            let clusterID = try await api.send(.get, "sys/seal-status").object["cluster_id"]?.stringValue ?? ""
            try await target.database.execute("COMMENT ON ROLE \"\(orphan)\" IS 'leasehold:\(clusterID):database/creds/reader/lost'")
            // A managed user of another installation on the same server is never touched.
            let foreign = "v-foreign-" + UUID().uuidString.prefix(8).lowercased()
            try await target.database.execute("CREATE ROLE \"\(foreign)\" LOGIN IN ROLE leasehold_managed")
            try await target.database.execute("COMMENT ON ROLE \"\(foreign)\" IS 'leasehold:another-cluster:database/creds/reader/x'")
            try await target.database.execute("CREATE ROLE \(bystander) LOGIN")
            let dry = try await api.send(.put, "sys/leases/reconcile", token: root, json: ["dry_run": true])
            #expect(dry.status == 200, "\(dry.text)")
            #expect(dry.text.contains(orphan))
            #expect(try await target.roleExists(orphan))
            let real = try await api.send(.put, "sys/leases/reconcile", token: root, json: [:])
            #expect(real.status == 200)
            #expect(try await target.roleExists(orphan) == false)
            #expect(try await target.roleExists(live))
            #expect(try await target.roleExists(bystander))
            #expect(try await target.roleExists(foreign))
            let reconciled = try await harness.store.auditRecords(after: 0, limit: 10_000).filter { $0.event.type == "lease.reconcile" }
            #expect(reconciled.map { $0.event.details["db_username"] } == [orphan])
            #expect(reconciled.first?.event.details["lease_id"] == "database/creds/reader/lost")
            try await target.database.execute("DROP ROLE \(bystander)")
            try await target.database.execute("DROP ROLE \"\(foreign)\"")
        }
    }

    /// A crash between the steps of a root rotation leaves a pending password recorded and either the old or the
    /// new password valid on the target; the next reset (or rotation) settles on the one that works.
    /// Records `password` as the pending root password of connection `pg`, as step 1 of a rotation that was then
    /// interrupted would; returns the store view and the connection's key for later checks.
    static func recordPendingRootPassword(
        _ password: String, in harness: BrokerHarness
    ) async throws -> (store: EncryptedStore, key: StoreKey) {
        let keys = try await harness.broker.seal.keys()
        let store = EncryptedStore(base: harness.sqlite, keyRing: keys.keyRing)
        let key = StoreKey(.databaseConnections, "database/pg")
        let stored = try #require(try await store.read(DatabaseConnection.self, at: key))
        var interrupted = stored.value
        interrupted.pendingRootPassword = SecretValue(password)
        try await harness.sqlite.commit(StoreBatch(operations: [.put(key, try store.seal(interrupted, for: key), .version(stored.version))]))
        return (store, key)
    }

    @Test(arguments: [false, true])
    func aRotationInterruptedByACrashNeverLocksTheBrokerOut(targetChanged: Bool) async throws {
        let target = try await DatabaseTarget.make()
        let admin = try await target.makeAdmin(password: "initial-password")
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target, admin: (admin, "initial-password"))
            // Step 1 happened (pending recorded) and the broker died; step 2 happened on the target or not.
            let (store, key) = try await Self.recordPendingRootPassword("pending-password-1234567890", in: harness)
            if targetChanged {
                try await target.database.execute("ALTER ROLE \(admin) PASSWORD 'pending-password-1234567890'")
            }
            #expect(try await api.send(.post, "database/reset/pg", token: root, json: [:]).status == 204)
            let creds = try await api.send(.get, "database/creds/reader", token: root)
            #expect(creds.status == 200, "\(creds.text)")
            let settled = try #require(try await store.read(DatabaseConnection.self, at: key)).value
            #expect(settled.pendingRootPassword == nil)
            #expect(settled.settings.password.revealed == (targetChanged ? "pending-password-1234567890" : "initial-password"))
        }
        try await target.drop(admin: admin)
    }

    @Test func rootRotationStatementsAreRefusedRatherThanIgnored() async throws {
        let target = try await DatabaseTarget.make()
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/mounts/database", token: root, json: ["type": "database"]).status == 204)
            guard case .object(var fields) = target.configFields else { return }
            fields["root_rotation_statements"] = .strings(["ALTER USER \"{{name}}\" WITH PASSWORD '{{password}}'"])
            let refused = try await api.send(.post, "database/config/pg", token: root, json: .object(fields))
            #expect(refused.status == 400)
            #expect(refused.errors.first?.contains("root_rotation_statements are not supported") == true)
        }
        try await target.drop()
    }

    /// While the target accepts neither password (here the admin cannot log in at all), settling an interrupted
    /// rotation keeps both: before, the pending password was dropped though the target already had it, and the
    /// broker was locked out for good.
    @Test func aRotationIsNotSettledWhileTheTargetCannotTellWhichPasswordWorks() async throws {
        let target = try await DatabaseTarget.make()
        let admin = try await target.makeAdmin(password: "initial-password")
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target, admin: (admin, "initial-password"))
            let (store, key) = try await Self.recordPendingRootPassword("pending-password-1234567890", in: harness)
            try await target.database.execute("ALTER ROLE \(admin) PASSWORD 'pending-password-1234567890' NOLOGIN")
            let unsettled = try await api.send(.post, "database/reset/pg", token: root, json: [:])
            #expect(unsettled.status >= 400)
            #expect(try #require(try await store.read(DatabaseConnection.self, at: key)).value.pendingRootPassword != nil)
            try await target.database.execute("ALTER ROLE \(admin) LOGIN")
            #expect(try await api.send(.post, "database/reset/pg", token: root, json: [:]).status == 204)
            #expect(try await api.send(.get, "database/creds/reader", token: root).status == 200)
            let settled = try #require(try await store.read(DatabaseConnection.self, at: key)).value
            #expect(settled.settings.password.revealed == "pending-password-1234567890")
        }
        try await target.drop(admin: admin)
    }

    @Test func rootRotationChangesTheAdminPasswordAndKeepsWorking() async throws {
        let target = try await DatabaseTarget.make()
        let admin = try await target.makeAdmin(password: "initial-password")
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            try await configureDatabase(api, root: root, target: target, admin: (admin, "initial-password"))
            let rotated = try await api.send(.post, "database/rotate-root/pg", token: root, json: [:])
            #expect(rotated.status == 204, "\(rotated.text)")
            await #expect(throws: (any Error).self) {
                _ = try await target.query("SELECT 1::text", as: admin, password: "initial-password")
            }
            #expect(try await api.send(.get, "database/creds/reader", token: root).status == 200)
            let read = try await api.send(.get, "database/config/pg", token: root)
            #expect(!read.text.contains("initial-password"))
        }
        try await target.drop(admin: admin)
    }
}

/// The local PostgreSQL server's log, read from the end it had when the test started.
struct TargetStatementLog {
    static let path = "/var/log/postgresql/postgresql-15-main.log"
    let offset: UInt64

    init() throws {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: Self.path))
        offset = try handle.seekToEnd()
        try handle.close()
    }

    /// The statements logged since the start that mention `needle`, without the log line prefix.
    func statements(mentioning needle: String) throws -> [String] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: Self.path))
        try handle.seek(toOffset: offset)
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        try handle.close()
        return text.split(separator: "\n").compactMap { line -> String? in
            guard line.contains(needle) else { return nil }
            for marker in ["statement: ", "execute <unnamed>: ", "execute S_"] {
                if let range = line.range(of: marker) {
                    let rest = line[range.upperBound...]
                    if marker == "execute S_", let colon = rest.range(of: ": ") { return String(rest[colon.upperBound...]) }
                    return String(rest)
                }
            }
            return nil
        }
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

extension TestClock {
    /// A clock that follows real time (for tests that wait on a real target).
    static var system: TestClock { TestClock(following: true) }
}
