import Foundation
import HTTPTypes
import LeaseholdCore
@testable import LeaseholdService
import LeaseholdTestSupport
import Testing

@Suite("Auth methods: AppRole and userpass")
struct AuthMethodTests {
    /// Enables AppRole and creates role `web` with policy `app`; returns (role_id, secret_id).
    func makeAppRole(_ api: APIClient, root: String, extra: [String: JSONValue] = [:]) async throws -> (String, String) {
        #expect(try await api.send(.post, "sys/auth/approle", token: root, json: ["type": "approle"]).status == 204)
        var fields: [String: JSONValue] = ["token_policies": ["app"], "token_ttl": "20m", "token_max_ttl": "30m"]
        fields.merge(extra) { _, new in new }
        let written = try await api.send(.post, "auth/approle/role/web", token: root, json: .object(fields))
        #expect(written.status == 204, "\(written.text)")
        let roleID = try #require(try await api.send(.get, "auth/approle/role/web/role-id", token: root).data["role_id"]?.stringValue)
        let secretID = try #require(try await api.send(.post, "auth/approle/role/web/secret-id", token: root, json: ["metadata": "{\"team\":\"web\"}"]).data["secret_id"]?.stringValue)
        return (roleID, secretID)
    }

    @Test func appRoleLoginIssuesATokenWithTheRolesPolicies() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let (roleID, secretID) = try await makeAppRole(api, root: root)
            let login = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)])
            #expect(login.status == 200, "\(login.text)")
            #expect(login.auth["policies"] == .strings(["app", "default"]))
            #expect(login.auth["metadata"] == ["role_name": "web", "team": "web"])
            #expect(login.auth["lease_duration"] == 1200)
            #expect(login.auth["orphan"] == true)
            let lookup = try await api.send(.get, "auth/token/lookup-self", token: login.clientToken)
            #expect(lookup.data["path"] == "auth/approle/login")
            let role = try await api.send(.get, "auth/approle/role/web", token: root)
            #expect(role.data["token_ttl"] == 1200)
            #expect(role.data["bind_secret_id"] == true)
        }
    }

    @Test func aFailedLoginNeverSaysWhichPartWasWrong() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let (roleID, secretID) = try await makeAppRole(api, root: root)
            for (role, secret) in [(roleID, "wrong-secret-id"), ("wrong-role-id", secretID), ("", ""), (roleID, "")] {
                let reply = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(role), "secret_id": .string(secret)])
                #expect(reply.status == 400)
                #expect(reply.text == "{\"errors\":[\"invalid role or secret ID\"]}")
            }
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            let everything = try records.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!everything.contains(secretID))
            #expect(records.filter { $0.event.path == "auth/approle/login" && $0.event.outcome == "error" }.count == 4)
        }
    }

    @Test func aSingleUseSecretIDWorksExactlyOnceUnderConcurrency() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let (roleID, _) = try await makeAppRole(api, root: root, extra: ["secret_id_num_uses": 1])
            let secretID = try await api.send(.post, "auth/approle/role/web/secret-id", token: root, json: [:]).data["secret_id"]?.stringValue ?? ""
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)]).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
        }
    }

    @Test func secretIDAccessorsAreScopedToTheirRole() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            _ = try await makeAppRole(api, root: root)
            _ = try await api.send(.post, "auth/approle/role/other", token: root, json: ["token_policies": ["app"]])
            let generated = try await api.send(.post, "auth/approle/role/web/secret-id", token: root, json: [:])
            let accessor = try #require(generated.data["secret_id_accessor"])
            let listed = try await api.send(.list, "auth/approle/role/web/secret-id", token: root)
            #expect(listed.data["keys"].map { value -> Bool in if case .array(let items) = value { items.contains(accessor) } else { false } } == true)
            let lookup = try await api.send(.post, "auth/approle/role/web/secret-id-accessor/lookup", token: root, json: ["secret_id_accessor": accessor])
            #expect(lookup.status == 200)
            let crossRole = try await api.send(.post, "auth/approle/role/other/secret-id-accessor/destroy", token: root, json: ["secret_id_accessor": accessor])
            #expect(crossRole.status == 400)
            #expect(try await api.send(.post, "auth/approle/role/web/secret-id-accessor/destroy", token: root, json: ["secret_id_accessor": accessor]).status == 204)
            let secret = generated.data["secret_id"] ?? ""
            let roleID = try await api.send(.get, "auth/approle/role/web/role-id", token: root).data["role_id"] ?? ""
            #expect(try await api.send(.post, "auth/approle/login", json: ["role_id": roleID, "secret_id": secret]).status == 400)
        }
    }

    @Test func secretIDsCanBeWrappedAndExpire() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let (roleID, _) = try await makeAppRole(api, root: root, extra: ["secret_id_ttl": "60s"])
            let wrapped = try await api.send(.post, "auth/approle/role/web/secret-id", token: root, json: [:], headers: [HTTPField.Name("X-Vault-Wrap-TTL")!: "60"])
            let wrapToken = try #require(wrapped.object["wrap_info"]?.objectValue?["token"]?.stringValue)
            let secretID = try #require(try await api.send(.post, "sys/wrapping/unwrap", token: wrapToken).data["secret_id"]?.stringValue)
            #expect(try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)]).status == 200)
            harness.clock.advance(by: 61)
            #expect(try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)]).status == 400)
        }
    }

    /// A secret id may be narrower than its role's limits, never wider: 0 (unlimited) included.
    @Test func aSecretIDCannotOutliveOrOutlastItsRole() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            _ = try await makeAppRole(api, root: root, extra: ["secret_id_ttl": "60s", "secret_id_num_uses": 2])
            for fields: JSONValue in [["ttl": 0], ["ttl": "2m"], ["num_uses": 0], ["num_uses": 3]] {
                let reply = try await api.send(.post, "auth/approle/role/web/secret-id", token: root, json: fields)
                #expect(reply.status == 400, "\(fields)")
            }
            let narrower = try await api.send(.post, "auth/approle/role/web/secret-id", token: root, json: ["ttl": "30s", "num_uses": 1])
            #expect(narrower.status == 200)
            #expect(narrower.data["secret_id_ttl"] == 30)
            #expect(narrower.data["secret_id_num_uses"] == 1)
        }
    }

    /// `sys/auth/<path>/tune` bounds the tokens its logins issue, at creation and at every renewal.
    @Test func theAuthMountsTunedMaximumBoundsItsTokens() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let (roleID, secretID) = try await makeAppRole(api, root: root)
            #expect(try await api.send(.post, "sys/auth/approle/tune", token: root, json: ["max_lease_ttl": "10m"]).status == 204)
            let login = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)])
            #expect(login.status == 200)
            let granted = login.auth["lease_duration"]?.numberValue ?? 0
            #expect(granted > 0 && granted <= 600, "\(granted)")
            let renewed = try await api.send(.post, "auth/token/renew-self", token: login.clientToken, json: ["increment": "1h"])
            #expect(renewed.status == 200)
            #expect((renewed.auth["lease_duration"]?.numberValue ?? 0) <= 600)
        }
    }

    @Test func failedLoginsAreRateLimited() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let (roleID, secretID) = try await makeAppRole(api, root: root)
            for _ in 0..<10 {
                _ = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": "nope-nope"])
            }
            let limited = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)])
            #expect(limited.status == 429)
        }
    }

    @Test func disablingAnAuthMethodRevokesItsTokensAndForgetsItsRoles() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let (roleID, secretID) = try await makeAppRole(api, root: root)
            let token = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)]).clientToken
            #expect(try await api.send(.get, "auth/token/lookup-self", token: token).status == 200)
            #expect(try await api.send(.delete, "sys/auth/approle", token: root).status == 204)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: token).status == 403)
            #expect(try await api.send(.post, "sys/auth/approle", token: root, json: ["type": "approle"]).status == 204)
            #expect(try await api.send(.get, "auth/approle/role/web", token: root).status == 404)
            let again = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)])
            #expect(again.status == 400)
        }
    }

    @Test func theFailureLimitIsConfigurable() async throws {
        let (harness, root) = try await BrokerHarness.unsealed(loginThrottle: LoginThrottle(maximumFailures: 2, window: 60))
        try await harness.withClient { api in
            let (roleID, secretID) = try await makeAppRole(api, root: root)
            for _ in 0..<2 {
                let failed = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": "nope-nope"])
                #expect(failed.status == 400)
            }
            let limited = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)])
            #expect(limited.status == 429)
            // The window passes: the right secret works again.
            harness.clock.advance(by: 61)
            let login = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)])
            #expect(login.status == 200)
        }
    }

    /// Failed logins for a known and an unknown name give the same answer in statistically the same time: the
    /// median ratio of adjacent pairs stays within a factor of two (a missing dummy hash would be ~100× apart).
    @Test func failedLoginsForKnownAndUnknownNamesAreIndistinguishable() async throws {
        let (harness, root) = try await BrokerHarness.unsealed(loginThrottle: LoginThrottle(maximumFailures: 1_000, window: 60))
        try await harness.withClient { api in
            let (roleID, _) = try await makeAppRole(api, root: root)
            #expect(try await api.send(.post, "sys/auth/userpass", token: root, json: ["type": "userpass"]).status == 204)
            #expect(try await api.send(.post, "auth/userpass/users/alice", token: root, json: ["password": "correct horse battery"]).status == 204)
            let pairs: [(known: (String, JSONValue), unknown: (String, JSONValue))] = [
                (("auth/approle/login", ["role_id": .string(roleID), "secret_id": "wrong-secret-id"]),
                 ("auth/approle/login", ["role_id": "no-such-role-id", "secret_id": "wrong-secret-id"])),
                (("auth/userpass/login/alice", ["password": "wrong password"]),
                 ("auth/userpass/login/mallory", ["password": "wrong password"])),
            ]
            for pair in pairs {
                // Adjacent requests see the same machine load, so compare them pairwise (alternating which goes
                // first) and take the median of the ratios: robust to load drift when suites run in parallel.
                var ratios: [Double] = []
                var bodies: Set<String> = []
                for index in 0..<20 {
                    var elapsed: [Bool: Double] = [:]
                    for isKnown in index % 2 == 0 ? [true, false] : [false, true] {
                        let (path, body) = isKnown ? pair.known : pair.unknown
                        let started = ContinuousClock.now
                        let reply = try await api.send(.post, path, json: body)
                        let duration = ContinuousClock.now - started
                        elapsed[isKnown] = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                        #expect(reply.status == 400)
                        bodies.insert(reply.text)
                    }
                    ratios.append((elapsed[true] ?? 0) / max(elapsed[false] ?? 1, 1e-9))
                }
                #expect(bodies.count == 1, "\(bodies)")
                let ratio = ratios.sorted()[ratios.count / 2]
                #expect(ratio > 0.5 && ratio < 2.0, "median pairwise known/unknown time = \(ratio) for \(pair.known.0)")
            }
        }
    }

    @Test func mountListingsShowAndFilterEnvironments() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/auth/approle-prod", token: root, json: ["type": "approle", "environment": "prod"]).status == 204)
            #expect(try await api.send(.post, "sys/auth/approle-dev", token: root, json: ["type": "approle", "config": ["environment": "dev"]]).status == 204)
            let all = try await api.send(.get, "sys/auth", token: root)
            #expect(all.data["approle-prod/"]?.objectValue?["environment"] == "prod")
            let prod = try await api.send(.get, "sys/auth?environment=prod", token: root)
            #expect(Set(prod.data.keys) == ["approle-prod/"])
            let bad = try await api.send(.get, "sys/mounts?environment=no%20spaces", token: root)
            #expect(bad.status == 400)
            // Both places are checked; `config` wins.
            #expect(try await api.send(.post, "sys/auth/approle-both", token: root, json: ["type": "approle", "environment": "prod", "config": ["environment": "dev"]]).status == 204)
            #expect(try await api.send(.get, "sys/auth", token: root).data["approle-both/"]?.objectValue?["environment"] == "dev")
            #expect(try await api.send(.post, "sys/auth/approle-bad", token: root, json: ["type": "approle", "environment": "", "config": ["environment": "dev"]]).status == 400)
            #expect(try await api.send(.post, "sys/auth/approle-bad", token: root, json: ["type": "approle", "environment": "prod", "config": ["environment": "no spaces"]]).status == 400)
        }
    }

    @Test func environmentsFollowTheLoginRole() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let (roleID, secretID) = try await makeAppRole(api, root: root, extra: ["environment": "prod"])
            let login = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)])
            let lookup = try await api.send(.get, "auth/token/lookup-self", token: login.clientToken)
            #expect(lookup.data["environment"] == "prod")
            // The login's audit row carries the identity's environment; a failed one names the role it tried.
            _ = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": "wrong-secret"])
            let logins = try await harness.store.auditRecords(after: 0, limit: 10_000).filter { $0.event.path == "auth/approle/login" }
            #expect(logins.first?.event.environment == "prod")
            #expect(logins.last?.event.outcome == "error")
            #expect(logins.last?.event.details["login_role"] == "web")
            // A child token can never leave its parent's environment.
            _ = try await api.send(.put, "sys/policies/acl/app", token: root, json: ["policy": "path \"auth/token/create\" { capabilities = [\"update\"] }"])
            let child = try await api.send(.post, "auth/token/create", token: login.clientToken, json: ["environment": "default"])
            #expect(child.status == 400)
        }
    }

    @Test func userpassLoginHashesPasswordsAndLocksOutEverySpelling() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/auth/userpass", token: root, json: ["type": "userpass"]).status == 204)
            #expect(try await api.send(.post, "auth/userpass/users/alice", token: root, json: ["password": "correct horse", "token_policies": ["dba"]]).status == 204)
            let read = try await api.send(.get, "auth/userpass/users/alice", token: root)
            #expect(!read.text.contains("correct horse"))
            #expect(!read.text.contains("scrypt"))
            let login = try await api.send(.post, "auth/userpass/login/alice", json: ["password": "correct horse"])
            #expect(login.status == 200)
            #expect(login.auth["metadata"] == ["username": "alice"])
            let wrong = try await api.send(.post, "auth/userpass/login/alice", json: ["password": "wrong password"])
            let unknown = try await api.send(.post, "auth/userpass/login/nobody", json: ["password": "wrong password"])
            // A password typed as the username: the audit row never names an unknown user.
            let mistyped = try await api.send(.post, "auth/userpass/login/Tr0ub4dor-and-3", json: ["password": ""])
            #expect(mistyped.text == unknown.text)
            #expect(wrong.text == unknown.text)
            #expect(wrong.errors == ["invalid username or password"])
            for spelling in ["Alice", " alice", "ALICE", "alice", "Alice ", "aLice", "alicE", "ALIce", "aliCE"] {
                _ = try await api.send(.post, "auth/userpass/login/\(spelling.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? spelling)", json: ["password": "nope nope"])
            }
            let lockedOut = try await api.send(.post, "auth/userpass/login/alice", json: ["password": "correct horse"])
            #expect(lockedOut.status == 429)
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            let everything = try records.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!everything.contains("correct horse"))
            #expect(!everything.contains("Tr0ub4dor"))
            #expect(!everything.contains("nobody"))
            let paths = Set(records.map(\.event.path))
            #expect(paths.contains("auth/userpass/login/alice"))
            #expect(paths.contains("auth/userpass/login/<unknown user>"))
        }
    }

    /// A login token is renewed only while what granted it still does, as in Vault: the user (or role) still exists
    /// with the same policies. Before, it renewed up to its maximum TTL after the user was removed.
    @Test func loginTokensRenewOnlyWhileTheirUserOrRoleStillGrantsThem() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/auth/userpass", token: root, json: ["type": "userpass"]).status == 204)
            #expect(try await api.send(.post, "auth/userpass/users/alice", token: root, json: ["password": "correct horse", "token_policies": ["dba"]]).status == 204)
            func login() async throws -> String {
                try await api.send(.post, "auth/userpass/login/alice", json: ["password": "correct horse"]).clientToken
            }
            let token = try await login()
            #expect(try await api.send(.post, "auth/token/renew-self", token: token, json: [:]).status == 200)
            // `default` alone does not count as a change (as in Vault).
            #expect(try await api.send(.post, "auth/userpass/users/alice", token: root, json: ["token_no_default_policy": true]).status == 204)
            #expect(try await api.send(.post, "auth/token/renew-self", token: token, json: [:]).status == 200)
            #expect(try await api.send(.post, "auth/userpass/users/alice", token: root, json: ["token_no_default_policy": false]).status == 204)
            #expect(try await api.send(.post, "auth/userpass/users/alice/policies", token: root, json: ["token_policies": ["dba", "auditor"]]).status == 204)
            let changed = try await api.send(.post, "auth/token/renew-self", token: token, json: [:])
            #expect(changed.status == 400)
            #expect(changed.errors == ["policies have changed, not renewing"])
            let fresh = try await login()
            #expect(try await api.send(.post, "auth/token/renew-self", token: fresh, json: [:]).status == 200)
            #expect(try await api.send(.delete, "auth/userpass/users/alice", token: root).status == 204)
            let gone = try await api.send(.post, "auth/token/renew-self", token: fresh, json: [:])
            #expect(gone.status == 400)
            #expect(gone.errors == ["the role, user or certificate entry of this login no longer exists; not renewing"])

            let (roleID, secretID) = try await makeAppRole(api, root: root)
            let appToken = try await api.send(.post, "auth/approle/login", json: ["role_id": .string(roleID), "secret_id": .string(secretID)]).clientToken
            #expect(try await api.send(.post, "auth/token/renew-self", token: appToken, json: [:]).status == 200)
            #expect(try await api.send(.delete, "auth/approle/role/web", token: root).status == 204)
            #expect(try await api.send(.post, "auth/token/renew-self", token: appToken, json: [:]).status == 400)
        }
    }

    /// Password hashing runs through a bounded limiter off the cooperative pool: with its two slots taken by parked
    /// work and its line full, a login is refused with 429 at once (not counted as a failed login), other requests
    /// are served meanwhile, and logins work again once the slots free up.
    @Test func userpassLoginsBeyondTheHashingLimitAreRefusedAndTheBrokerStaysResponsive() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        let limiter = harness.broker.passwordHashing
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/auth/userpass", token: root, json: ["type": "userpass"]).status == 204)
            #expect(try await api.send(.post, "auth/userpass/users/alice", token: root, json: ["password": "correct horse"]).status == 204)

            let release = DispatchSemaphore(value: 0)
            let occupied = limiter.maximumRunning + limiter.maximumWaiting
            let parked = (0..<occupied).map { _ in Task { try await limiter.run { release.wait() } } }
            defer { for _ in 0..<occupied { release.signal() } }
            #expect(try await eventually { limiter.runningCount == limiter.maximumRunning && limiter.waitingCount == limiter.maximumWaiting })

            for _ in 0..<12 {
                let refused = try await api.send(.post, "auth/userpass/login/alice", json: ["password": "wrong password"])
                #expect(refused.status == 429)
                #expect(refused.errors == ["too many password logins in progress; retry later"])
            }
            #expect(try await api.send(.get, "auth/token/lookup-self", token: root).status == 200)

            for _ in 0..<occupied { release.signal() }
            for task in parked { try await task.value }
            let login = try await api.send(.post, "auth/userpass/login/alice", json: ["password": "correct horse"])
            #expect(login.status == 200, "twelve refusals are not twelve failed logins (the lockout is at ten)")
        }
    }
}
