import AsyncHTTPClient
import Foundation
import LeaseholdCore
import LeaseholdHTTP
import LeaseholdService
import NIOCore
import Testing

/// Vault fields that restrict what a token, login or credential may do are either enforced or refused: a write
/// that answers success must never leave a restriction unapplied.
@Suite("Restriction fields: enforced or refused, never ignored")
struct RestrictionFieldTests {
    /// A write names the fields it ignored, as Vault does, so a mistyped restriction is not silently dropped;
    /// fields that ask for nothing (false, zero, empty) are not named.
    @Test func aWriteNamesTheFieldsItIgnored() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/auth/approle", token: root, json: ["type": "approle", "local": false]).status == 204)
            let typo = try await api.send(
                .post, "auth/approle/role/app", token: root,
                json: ["token_bound_cidr": ["10.0.0.0/8"], "token_ttl": "1h", "zeta": "1", "unused_flag": false, "empty": ""])
            #expect(typo.status == 200, "\(typo.text)")
            #expect(typo.object["warnings"] == .strings(["Endpoint ignored these unrecognized parameters: [token_bound_cidr zeta]"]))
            #expect(try await api.send(.get, "auth/approle/role/app", token: root).data["token_ttl"] == .int(3600))
            let clean = try await api.send(.post, "auth/approle/role/app", token: root, json: ["token_ttl": "2h", "unused_flag": false])
            #expect(clean.status == 204, "\(clean.text)")
            // Inside an object the handler reads as fields of its own, a typo is named with its path.
            let mount = try await api.send(
                .post, "sys/auth/approle2", token: root,
                json: ["type": "approle", "config": ["max_lease_ttl": "1h", "max_lease_tll": "2h", "listing_visibility": ""]])
            #expect(mount.object["warnings"] == .strings(["Endpoint ignored these unrecognized parameters: [config.max_lease_tll]"]), "\(mount.text)")
            // Reads never warn: their query parameters are not a body.
            let read = try await api.send(.get, "auth/approle/role/app?zeta=1", token: root)
            #expect(read.object["warnings"] == nil || read.object["warnings"] == .null, "\(read.text)")
        }
    }

    @Test func deprecatedTokenFieldNamesAreEnforcedAndTheCurrentNameWins() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            try await api.enableUserpass(withUser: "bound", token: root, ["bound_cidrs": ["10.0.0.0/8"], "num_uses": 3, "lease": "20m"])
            let read = try await api.send(.get, "auth/userpass/users/bound", token: root)
            #expect(read.data["token_bound_cidrs"] == .strings(["10.0.0.0/8"]))
            #expect(read.data["token_num_uses"] == .int(3))
            #expect(read.data["token_ttl"] == .int(1200))
            // The in-process client has no address inside 10.0.0.0/8.
            let login = try await api.send(.post, "auth/userpass/login/bound", json: ["password": "correct horse battery"])
            #expect(login.status == 403, "\(login.text)")
            #expect(login.clientToken.isEmpty)

            // As in Vault, the current name wins over the deprecated one, and a role read back (which shows both
            // `policies` and `token_policies`) can be written back with one of them edited.
            let both = try await api.send(
                .post, "auth/userpass/users/bound", token: root,
                json: ["bound_cidrs": ["0.0.0.0/0"], "token_bound_cidrs": ["10.0.0.0/8", "192.168.0.0/16"]])
            #expect(both.status == 204, "\(both.text)")
            var fields = try await api.send(.get, "auth/userpass/users/bound", token: root).data
            #expect(fields["token_bound_cidrs"] == .strings(["10.0.0.0/8", "192.168.0.0/16"]))
            fields["token_policies"] = .strings(["edited"])
            fields["password"] = "correct horse battery"
            #expect(try await api.send(.post, "auth/userpass/users/bound", token: root, json: .object(fields)).status == 204)
            #expect(try await api.send(.get, "auth/userpass/users/bound", token: root).data["token_policies"] == .strings(["edited"]))

            #expect(try await api.send(.post, "sys/auth/approle", token: root, json: ["type": "approle"]).status == 204)
            let role = try await api.send(
                .post, "auth/approle/role/legacy", token: root, json: ["bound_cidr_list": "10.0.0.0/8", "bind_secret_id": false])
            #expect(role.status == 204, "\(role.text)")
            #expect(try await api.send(.get, "auth/approle/role/legacy", token: root).data["secret_id_bound_cidrs"] == .strings(["10.0.0.0/8"]))
            let roleID = try await api.send(.get, "auth/approle/role/legacy/role-id", token: root).data["role_id"] ?? ""
            let appLogin = try await api.send(.post, "auth/approle/login", json: ["role_id": roleID])
            #expect(appLogin.status == 400, "\(appLogin.text)")
        }
    }

    /// A secret id's `token_bound_cidrs` bind the tokens of its logins; they must lie inside the role's blocks,
    /// when written and again at each login (the role may have been narrowed since).
    @Test func aSecretIDsTokenBoundCIDRsBindItsLogins() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            _ = try await api.send(.post, "sys/auth/approle", token: root, json: ["type": "approle"])
            let role = try await api.send(
                .post, "auth/approle/role/app", token: root,
                json: ["token_bound_cidrs": ["127.0.0.0/8"], "secret_id_bound_cidrs": ["127.0.0.0/8"]])
            #expect(role.status == 204, "\(role.text)")
            for outside in [["token_bound_cidrs": ["10.0.0.0/8"]], ["token_bound_cidrs": ["0.0.0.0/0"]], ["cidr_list": ["10.0.0.0/8"]]] {
                let reply = try await api.send(.post, "auth/approle/role/app/secret-id", token: root, json: .object(outside.mapValues(JSONValue.strings)))
                #expect(reply.status == 400, "\(outside): \(reply.text)")
            }
            let roleID = try await api.send(.get, "auth/approle/role/app/role-id", token: root).data["role_id"]?.stringValue ?? ""
            func secret(boundTo block: String) async throws -> String {
                let reply = try await api.send(.post, "auth/approle/role/app/secret-id", token: root, json: ["token_bound_cidrs": [.string(block)]])
                #expect(reply.status == 200, "\(reply.text)")
                return reply.data["secret_id"]?.stringValue ?? ""
            }
            let here = try await secret(boundTo: "127.0.0.1/32")
            let elsewhere = try await secret(boundTo: "127.0.0.2/32")
            let accessor = try await api.send(.list, "auth/approle/role/app/secret-id", token: root).data["keys"]?.arrayValue?.first?.stringValue ?? ""
            let lookup = try await api.send(.post, "auth/approle/role/app/secret-id-accessor/lookup", token: root, json: ["secret_id_accessor": .string(accessor)])
            #expect(lookup.data["token_bound_cidrs"]?.arrayValue?.count == 1, "\(lookup.text)")

            try await harness.withLiveListener(certificates: nil) { port async throws in
                let client = HTTPClient(eventLoopGroupProvider: .singleton)
                defer { _ = client.shutdown() }
                func login(_ secretID: String) async throws -> Int {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/auth/approle/login")
                    request.method = .POST
                    request.body = .bytes(ByteBuffer(string: "{\"role_id\":\"\(roleID)\",\"secret_id\":\"\(secretID)\"}"))
                    return Int(try await client.execute(request, timeout: .seconds(10)).status.code)
                }
                #expect(try await login(here) == 200)
                let outside = try await login(elsewhere)
                #expect(outside == 400, "the login comes from 127.0.0.1, outside the secret's block: \(outside)")
                // Narrowing the role leaves the first secret's block outside it: its logins stop.
                #expect(try await api.send(.post, "auth/approle/role/app", token: root, json: ["token_bound_cidrs": ["127.0.0.2/32"]]).status == 204)
                #expect(try await login(here) == 400)
            }
        }
    }

    @Test func settingsStoredBeforeTheExplicitCapExistedStillDecode() throws {
        let stored = #"{"policies":["app"],"ttl":60,"maxTTL":120,"period":0,"numUses":0,"noDefaultPolicy":false,"boundCIDRs":[],"environment":"default"}"#
        let settings = try JSONDecoder().decode(TokenSettings.self, from: Data(stored.utf8))
        #expect(settings.maxTTL == 120)
        #expect(settings.explicitMaxTTL == nil)
        #expect(settings.json["token_explicit_max_ttl"] == .int(0))
    }

    @Test func theSmallerOfTokenMaxTTLAndTokenExplicitMaxTTLCapsLoginTokens() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            try await api.enableUserpass(withUser: "alice", token: root, ["token_max_ttl": "768h", "token_explicit_max_ttl": "1h"])
            // A later write of one of the two leaves the other in force.
            #expect(try await api.send(.post, "auth/userpass/users/alice", token: root, json: ["token_max_ttl": "48h"]).status == 204)
            let read = try await api.send(.get, "auth/userpass/users/alice", token: root)
            #expect(read.data["token_explicit_max_ttl"] == .int(3600))
            #expect(read.data["token_max_ttl"] == .int(172_800))
            let login = try await api.send(.post, "auth/userpass/login/alice", json: ["password": "correct horse battery"])
            #expect(login.status == 200, "\(login.text)")
            let lookup = try await api.send(.get, "auth/token/lookup-self", token: login.clientToken)
            #expect(lookup.data["explicit_max_ttl"] == .int(3600))
            #expect((lookup.data["ttl"]?.numberValue ?? .infinity) <= 3600)
            let tooLong = try await api.send(.post, "auth/userpass/users/alice", token: root, json: ["token_ttl": "2h"])
            #expect(tooLong.status == 400, "\(tooLong.text)")
        }
    }

    @Test func theTokenMountsTunedTTLsApplyToCreatedTokens() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let tuned = try await api.send(
                .post, "sys/auth/token/tune", token: root, json: ["default_lease_ttl": "10m", "max_lease_ttl": "1h"])
            #expect(tuned.status == 204, "\(tuned.text)")
            let plain = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["default"]])
            #expect(plain.auth["lease_duration"] == .int(600), "\(plain.text)")
            let long = try await api.send(.post, "auth/token/create", token: root, json: ["ttl": "5h", "policies": ["default"]])
            #expect(long.status == 200, "\(long.text)")
            #expect((long.auth["lease_duration"]?.numberValue ?? .infinity) <= 3600)
            let lookup = try await api.send(.get, "auth/token/lookup-self", token: long.clientToken)
            #expect(lookup.data["explicit_max_ttl"] == .int(3600))
            // A periodic token's period is capped at the maximum instead: it keeps renewing.
            let periodic = try await api.send(.post, "auth/token/create", token: root, json: ["period": "5h", "policies": ["default"]])
            #expect(periodic.auth["lease_duration"] == .int(3600), "\(periodic.text)")
            let periodicLookup = try await api.send(.get, "auth/token/lookup-self", token: periodic.clientToken)
            #expect(periodicLookup.data["explicit_max_ttl"] == .int(0))
            // A root token takes neither the default nor the maximum.
            let rootChild = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["root"]])
            #expect(rootChild.auth["lease_duration"] == .int(0), "\(rootChild.text)")
        }
    }

    @Test func aCallerMayNarrowATokenRolesPeriodButNotWidenIt() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "auth/token/roles/periodic", token: root, json: ["token_period": "1h"]).status == 204)
            #expect(try await api.send(.post, "auth/token/roles/plain", token: root, json: [:]).status == 204)
            // A period is for root or sudo only, through a role or not: a role without token_period would otherwise
            // hand any caller a token that renews forever.
            let policy = #"path "auth/token/create/*" { capabilities = ["update"] }"#
            #expect(try await api.send(.put, "sys/policies/acl/creator", token: root, json: ["policy": .string(policy)]).status == 204)
            let creator = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["creator"]]).clientToken
            for role in ["plain", "periodic"] {
                let refused = try await api.send(.post, "auth/token/create/\(role)", token: creator, json: ["period": "8760h"])
                #expect(refused.status == 400, "\(role): \(refused.text)")
            }
            let byRole = try await api.send(.post, "auth/token/create/periodic", token: creator, json: [:])
            #expect(byRole.auth["lease_duration"] == .int(3600), "\(byRole.text)")
            let narrow = try await api.send(.post, "auth/token/create/periodic", token: root, json: ["period": "10m"])
            #expect(narrow.auth["lease_duration"] == .int(600), "\(narrow.text)")
            let wide = try await api.send(.post, "auth/token/create/periodic", token: root, json: ["period": "5h"])
            #expect(wide.auth["lease_duration"] == .int(3600), "\(wide.text)")
        }
    }

    @Test func unsupportedRestrictionsAreRefused() async throws {
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            try await api.enableUserpass(withUser: "alice", token: root)
            let refused: [(String, JSONValue)] = [
                // A password reset that would have kept the old password.
                ("auth/userpass/users/alice", ["password_hash": "$2a$10$abcdefghijklmnopqrstuv"]),
                ("auth/userpass/users/alice", ["token_type": "batch"]),
                ("sys/auth/userpass/tune", ["token_type": "default-batch"]),
                ("sys/auth/userpass/tune", ["user_lockout_config": ["lockout_threshold": 3, "lockout_duration": "1h"]]),
                ("sys/audit/siem", ["type": "file", "options": ["file_path": "stdout", "hmac_accessor": "true"]]),
            ]
            for (path, body) in refused {
                let reply = try await api.send(.post, path, token: root, json: body)
                #expect(reply.status == 400, "\(path) \(body): \(reply.text)")
            }
            #expect(try await api.send(.post, "auth/userpass/login/alice", json: ["password": "correct horse battery"]).status == 200)
            #expect(try await api.send(.get, "sys/auth/userpass/tune", token: root).data["token_type"] == "default-service")

            let config = try await api.configureUnreachableConnection("db", token: root, adminPassword: "admin-password")
            #expect(config.status == 204, "\(config.text)")
            let creation = "CREATE ROLE \"{{name}}\" LOGIN PASSWORD '{{password}}';"
            for extra in [
                ["credential_type": JSONValue.string("rsa_private_key")],
                ["credential_config": ["password_policy": "long"]],
            ] {
                var body: [String: JSONValue] = ["db_name": "db", "creation_statements": .string(creation)]
                body.merge(extra) { _, new in new }
                let reply = try await api.send(.post, "database/roles/r", token: root, json: .object(body))
                #expect(reply.status == 400, "\(extra): \(reply.text)")
            }
            let plain = try await api.send(
                .post, "database/roles/r", token: root,
                json: ["db_name": "db", "creation_statements": .string(creation), "credential_type": "password"])
            #expect(plain.status == 204, "\(plain.text)")
        }
    }
}

extension APIClient {
    /// Enables userpass at `userpass/` and writes user `name` (password `correct horse battery`) with `fields`,
    /// expecting both to succeed.
    func enableUserpass(withUser name: String, token: String, _ fields: [String: JSONValue] = [:]) async throws {
        #expect(try await send(.post, "sys/auth/userpass", token: token, json: ["type": "userpass"]).status == 204)
        let user = fields.merging(["password": "correct horse battery"]) { current, _ in current }
        let written = try await send(.post, "auth/userpass/users/\(name)", token: token, json: .object(user))
        #expect(written.status == 204, "\(written.text)")
    }
}
