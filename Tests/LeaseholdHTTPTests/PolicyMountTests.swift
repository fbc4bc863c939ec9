import Foundation
import HTTPTypes
import LeaseholdCore
import Testing

@Suite("Policies and mounts through the API")
struct PolicyMountTests {
    /// Reads and lists policies, except `secret`, which it denies.
    static let readerPolicy = """
        path "sys/policies/acl/*" { capabilities = ["read", "list"] }
        path "sys/policies/acl/secret" { capabilities = ["deny"] }
        """

    @Test func defaultDenyAndCapabilities() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.put, "sys/policies/acl/reader", token: root, json: ["policy": .string(Self.readerPolicy)]).status == 204)
            let token = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["reader"]]).clientToken
            #expect(try await api.send(.get, "sys/policies/acl/reader", token: token).status == 200)
            #expect(try await api.send(.get, "sys/policies/acl/secret", token: token).status == 403)
            #expect(try await api.send(.put, "sys/policies/acl/x", token: token, json: ["policy": "path \"a\" { capabilities = [\"read\"] }"]).status == 403)
            #expect(try await api.send(.get, "sys/mounts", token: token).status == 403)
            let capabilities = try await api.send(.post, "sys/capabilities-self", token: token, json: ["paths": ["sys/policies/acl/a", "sys/policies/acl/secret", "sys/mounts"]])
            #expect(capabilities.data["sys/policies/acl/a"] == .strings(["list", "read"]))
            #expect(capabilities.data["sys/policies/acl/secret"] == .strings(["deny"]))
            #expect(capabilities.object["sys/mounts"] == .strings(["deny"]))
            let byRoot = try await api.send(.post, "sys/capabilities", token: root, json: ["token": .string(token), "paths": ["sys/mounts"]])
            #expect(byRoot.data["sys/mounts"] == .strings(["deny"]))
            #expect(try await api.send(.post, "sys/capabilities", token: root, json: ["token": .string(token)]).errors == ["paths must be supplied"])
        }
    }

    /// A policy deleted and written again starts over at store version 1: the parsed-policy cache must not serve the
    /// old text for it (it did, keyed by version, until the broker restarted: a narrowed policy kept its old grants).
    @Test func aPolicyRecreatedUnderTheSameNameTakesEffectAtOnce() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let broad = #"path "sys/mounts" { capabilities = ["read"] }"#
            #expect(try await api.send(.put, "sys/policies/acl/ops", token: root, json: ["policy": .string(broad)]).status == 204)
            let token = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["ops"]]).clientToken
            #expect(try await api.send(.get, "sys/mounts", token: token).status == 200)
            #expect(try await api.send(.delete, "sys/policies/acl/ops", token: root).status == 204)
            #expect(try await api.send(.get, "sys/mounts", token: token).status == 403)
            let narrow = #"path "sys/policies/acl" { capabilities = ["list"] }"#
            #expect(try await api.send(.put, "sys/policies/acl/ops", token: root, json: ["policy": .string(narrow)]).status == 204)
            #expect(try await api.send(.get, "sys/mounts", token: token).status == 403)
            #expect(try await api.send(.list, "sys/policies/acl", token: token).status == 200)
        }
    }

    /// A trailing `/` is routed as if it were not there, so it must not step around a rule on the bare path.
    @Test func aTrailingSlashDoesNotStepAroundADeny() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.put, "sys/policies/acl/reader", token: root, json: ["policy": .string(Self.readerPolicy)]).status == 204)
            #expect(try await api.send(.put, "sys/policies/acl/secret", token: root, json: ["policy": "path \"x\" { capabilities = [\"read\"] }"]).status == 204)
            let token = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["reader"]]).clientToken
            #expect(try await api.send(.get, "sys/policies/acl/secret", token: token).status == 403)
            #expect(try await api.send(.get, "sys/policies/acl/secret/", token: token).status == 403)
            #expect(try await api.send(.get, "sys/policies/acl/reader/", token: token).status == 200)
            // A list is of what is under the path (Vault appends the `/`): `acl/*` grants listing `acl`.
            #expect(try await api.send(.list, "sys/policies/acl", token: token).status == 200)
            #expect(try await api.send(.get, "sys/policies/acl?list=true", token: token).status == 200)
        }
    }

    /// `allowed_parameters`, `denied_parameters` and `required_parameters` bind the request's fields, and the
    /// wrapping TTL bounds of the rule bind its wrapping.
    @Test func parameterConstraintsAndWrappingBoundsAreEnforced() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let policy = """
                path "auth/token/create" {
                  capabilities = ["update"]
                  denied_parameters = { "policies" = [] }
                  required_parameters = ["ttl"]
                }
                path "sys/wrapping/wrap" {
                  capabilities = ["update"]
                  min_wrapping_ttl = "1m"
                  max_wrapping_ttl = "1h"
                }
                """
            #expect(try await api.send(.put, "sys/policies/acl/limited", token: root, json: ["policy": .string(policy)]).status == 204)
            let token = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["limited"]]).clientToken
            #expect(try await api.send(.post, "auth/token/create", token: token, json: ["ttl": "1h", "policies": ["limited"]]).status == 403)
            #expect(try await api.send(.post, "auth/token/create", token: token, json: ["policies": ["limited"]]).status == 403)
            #expect(try await api.send(.post, "auth/token/create", token: token, json: ["ttl": "1h"]).status == 200)

            let wrapTTL = HTTPField.Name("X-Vault-Wrap-TTL")!
            #expect(try await api.send(.post, "sys/wrapping/wrap", token: token, json: ["a": "b"]).status == 403)
            #expect(try await api.send(.post, "sys/wrapping/wrap", token: token, json: ["a": "b"], headers: [wrapTTL: "30s"]).status == 403)
            #expect(try await api.send(.post, "sys/wrapping/wrap", token: token, json: ["a": "b"], headers: [wrapTTL: "2h"]).status == 403)
            #expect(try await api.send(.post, "sys/wrapping/wrap", token: token, json: ["a": "b"], headers: [wrapTTL: "5m"]).status == 200)
        }
    }

    @Test func badPoliciesAre400WithAPreciseMessage() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let bogus = try await api.send(.put, "sys/policies/acl/bad", token: root, json: ["policy": "path \"x\" { capabilities = [\"bogus\"] }"])
            #expect(bogus.status == 400)
            #expect(bogus.errors.first?.contains("invalid capability \"bogus\"") == true)
            let duplicate = try await api.send(.put, "sys/policies/acl/dup", token: root, json: ["policy": "path \"x\" { capabilities = [\"read\"] }\npath \"x\" { capabilities = [\"list\"] }"])
            #expect(duplicate.status == 400)
            #expect(try await api.send(.put, "sys/policies/acl/root", token: root, json: ["policy": "path \"x\" { capabilities = [\"read\"] }"]).status == 400)
            #expect(try await api.send(.delete, "sys/policies/acl/default", token: root).status == 400)
            let upperRoot = try await api.send(.put, "sys/policies/acl/ROOT", token: root, json: ["policy": "path \"x\" { capabilities = [\"read\"] }"])
            #expect(upperRoot.errors == ["cannot update \"root\" policy"])
            let upperDefault = try await api.send(.delete, "sys/policies/acl/DEFAULT", token: root)
            #expect(upperDefault.errors == ["cannot delete \"default\" policy"])
        }
    }

    @Test func jsonAndLegacyPolicyRoutes() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let json = #"{"path": {"auth/token/lookup-self": {"capabilities": ["read"]}}}"#
            #expect(try await api.send(.put, "sys/policy/Viewer", token: root, json: ["rules": .string(json)]).status == 204)
            let read = try await api.send(.get, "sys/policy/viewer", token: root)
            #expect(read.object["rules"] == .string(json))
            let listed = try await api.send(.get, "sys/policy", token: root)
            #expect(listed.object["policies"] == .strings(["default", "root", "viewer"]))
            #expect(try await api.send(.delete, "sys/policy/VIEWER", token: root).status == 204)
            #expect(try await api.send(.get, "sys/policy/viewer", token: root).status == 404)
        }
    }

    /// The UI's mount listing shows a token the mounts its policies reach (and those marked `unauth`), not every
    /// mount of every environment.
    @Test func theUIMountListingShowsWhatTheTokenReaches() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            for path in ["dev-db", "prod-db"] {
                #expect(try await api.send(.post, "sys/mounts/\(path)", token: root, json: ["type": "database"]).status == 204)
            }
            _ = try await api.send(.put, "sys/policies/acl/dev", token: root, json: ["policy": "path \"dev-db/creds/*\" { capabilities = [\"read\"] }"])
            let dev = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["dev"]]).clientToken
            let seen = try await api.send(.get, "sys/internal/ui/mounts", token: dev).data["secret"]?.objectValue ?? [:]
            #expect(seen["dev-db/"] != nil)
            #expect(seen["prod-db/"] == nil)
            let everything = try await api.send(.get, "sys/internal/ui/mounts", token: root).data["secret"]?.objectValue ?? [:]
            #expect(everything["prod-db/"] != nil)
            let anonymous = try await api.send(.get, "sys/internal/ui/mounts").data["secret"]?.objectValue ?? [:]
            #expect(anonymous.isEmpty)
        }
    }

    @Test func mountLifecycle() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/mounts/db", token: root, json: ["type": "database", "description": "pg", "config": ["default_lease_ttl": "1h", "max_lease_ttl": "24h"]]).status == 204)
            let duplicate = try await api.send(.post, "sys/mounts/db", token: root, json: ["type": "database"])
            #expect(duplicate.errors == ["path is already in use at db/"])
            let unknown = try await api.send(.post, "sys/mounts/kv", token: root, json: ["type": "kv"])
            #expect(unknown.errors == ["plugin not found in the catalog: kv"])
            #expect(try await api.send(.post, "sys/mounts/sys/x", token: root, json: ["type": "database"]).status == 400)
            let entry = try await api.send(.get, "sys/mounts/db", token: root)
            #expect(entry.data["type"] == "database")
            #expect(try await api.send(.post, "sys/mounts/db/tune", token: root, json: ["default_lease_ttl": "2h"]).status == 204)
            let tune = try await api.send(.get, "sys/mounts/db/tune", token: root)
            #expect(tune.data["default_lease_ttl"] == 7200)
            #expect(tune.data["max_lease_ttl"] == 86400)
            let ui = try await api.send(.get, "sys/internal/ui/mounts/db/creds/x", token: root)
            #expect(ui.data["path"] == "db/")
            #expect(try await api.send(.get, "sys/internal/ui/mounts/nothing/here", token: root).status == 404)
            #expect(try await api.send(.delete, "sys/mounts/db", token: root).status == 204)
            #expect(try await api.send(.delete, "sys/mounts/db", token: root).status == 204)
            #expect(try await api.send(.get, "sys/mounts", token: root).data["db/"] == nil)
        }
    }

    @Test func tokenAuthMountCanBeTunedButNotDisabled() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let tune = try await api.send(.post, "sys/mounts/auth/token/tune", token: root, json: ["max_lease_ttl": "1h"])
            #expect(tune.status == 204)
            let tuned = try await api.send(.get, "sys/auth/token/tune", token: root)
            #expect(tuned.data["max_lease_ttl"] == 3600)
            let disable = try await api.send(.delete, "sys/auth/token", token: root)
            #expect(disable.status == 400)
            let list = try await api.send(.get, "sys/auth", token: root)
            #expect(list.data["token/"] != nil)
            let unknown = try await api.send(.post, "sys/auth/ldap", token: root, json: ["type": "ldap"])
            #expect(unknown.status == 400)
            #expect(unknown.errors == ["plugin not found in the catalog: ldap"])
        }
    }
}
