import Foundation
import HTTPTypes
import LeaseholdCore
@testable import LeaseholdService
import LeaseholdTestSupport
import Testing

@Suite("Tokens: lifetime, uses, trees, roles")
struct TokenTests {
    @Test func tokensExpire() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let token = try await api.send(.post, "auth/token/create", token: root, json: ["ttl": "60s"]).clientToken
            #expect(try await api.send(.get, "auth/token/lookup-self", token: token).status == 200)
            harness.clock.advance(by: 61)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: token).status == 403)
        }
    }

    @Test func renewalNeverPassesTheMaximum() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let created = try await api.send(.post, "auth/token/create", token: root, json: ["ttl": "1h", "explicit_max_ttl": "2h"])
            let token = created.clientToken
            harness.clock.advance(by: 1800)
            let renewed = try await api.send(.put, "auth/token/renew-self", token: token, json: ["increment": "3h"])
            #expect(renewed.status == 200)
            #expect(renewed.auth["lease_duration"] == 5400)
            #expect(renewed.object["warnings"] != .null)
            // Near the cap: the grant shrinks, never becomes unbounded.
            harness.clock.advance(by: 7199 - 1800)
            let last = try await api.send(.put, "auth/token/renew-self", token: token, json: ["increment": "1h"])
            #expect(last.auth["lease_duration"] == 1)
            harness.clock.advance(by: 2)
            #expect(try await api.send(.put, "auth/token/renew-self", token: token, json: ["increment": "1h"]).status == 403)
        }
    }

    @Test func aSingleUseTokenSucceedsExactlyOnceUnderConcurrency() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let token = try await api.send(.post, "auth/token/create", token: root, json: ["num_uses": 1]).clientToken
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await api.send(.get, "auth/token/lookup-self", token: token).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.filter { $0 == 403 }.count == 49)
        }
    }

    /// A use-limited token cannot mint children (they would carry its powers past the limit, and one made on the
    /// last use outlived the revocation staged before it); a refused attempt does not consume a use.
    @Test func useLimitedTokensCannotCreateChildren() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let limited = try await api.send(.post, "auth/token/create", token: root, json: ["num_uses": 2, "policies": ["root"]]).clientToken
            for path in ["auth/token/create", "auth/token/create-orphan"] {
                let refused = try await api.send(.post, path, token: limited, json: ["num_uses": 0])
                #expect(refused.status == 400)
                #expect(refused.errors == ["use-limited tokens cannot create child tokens"])
            }
            let lookup = try await api.send(.get, "auth/token/lookup-self", token: limited)
            #expect(lookup.data["num_uses"] == 2, "lookup-self shows the uses left before this one")
        }
    }

    /// The stored hash of `token`.
    static func hash(of token: String, _ harness: BrokerHarness) async throws -> String {
        harness.broker.makeServices(keys: try await harness.broker.seal.keys()).tokens.hash(of: SecretValue(token))
    }

    /// A child whose creation commits after its parent's revocation fails (the parent must be unchanged), and the
    /// request is then refused; one that commits between the revocation's listing of children and its commit is
    /// revoked right after. Before, both outlived their revoked parent.
    @Test func childrenCreatedDuringTheirParentsRevocationDoNotSurviveIt() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let creator = "path \"auth/token/create\" { capabilities = [\"update\"] }"
            #expect(try await api.send(.put, "sys/policies/acl/creator", token: root, json: ["policy": .string(creator)]).status == 204)
            // Committing after the revocation.
            let parent = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["creator"]]).clientToken
            let parentHash = try await Self.hash(of: parent, harness)
            harness.store.holdCommits(checking: StoreKey(.tokens, parentHash))
            let late = Task { try await api.send(.post, "auth/token/create", token: parent, json: [:]) }
            #expect(try await eventually { harness.store.heldCommitCount == 1 })
            #expect(try await api.send(.put, "auth/token/revoke", token: root, json: ["token": .string(parent)]).status == 204)
            harness.store.holdCommits(checking: nil)
            #expect(try await late.value.status == 403, "retried, the parent is gone")

            // Committing between the revocation's listing and its commit.
            let second = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["creator"]]).clientToken
            let secondHash = try await Self.hash(of: second, harness)
            harness.store.holdCommits(where: { batch in
                batch.operations.contains { operation in
                    guard case .delete(let key, _) = operation else { return false }
                    return key == StoreKey(.tokens, secondHash)
                }
            })
            let revocation = Task { try await api.send(.put, "auth/token/revoke", token: root, json: ["token": .string(second)]) }
            #expect(try await eventually { harness.store.heldCommitCount == 1 })
            let child = try await api.send(.post, "auth/token/create", token: second, json: [:]).clientToken
            #expect(try await api.send(.get, "auth/token/lookup-self", token: child).status == 200)
            harness.store.holdCommits(where: nil)
            #expect(try await revocation.value.status == 204)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: child).status == 403)
            let rows = try await harness.store.auditRecords(after: 0, limit: 10_000)
            #expect(rows.contains { $0.event.type == "token.revoke" && $0.event.details["reason"] == "created while its parent was being revoked" })
        }
    }

    @Test func revokingAParentRevokesItsChildrenAndOrphanRevokeKeepsThem() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let parent = try await api.send(.post, "auth/token/create", token: root, json: [:]).clientToken
            let child = try await api.send(.post, "auth/token/create", token: parent, json: [:]).clientToken
            let grandchild = try await api.send(.post, "auth/token/create", token: child, json: [:]).clientToken
            #expect(try await api.send(.put, "auth/token/revoke", token: root, json: ["token": .string(parent)]).status == 204)
            for token in [parent, child, grandchild] {
                #expect(try await api.send(.get, "auth/token/lookup-self", token: token).status == 403)
            }
            let parent2 = try await api.send(.post, "auth/token/create", token: root, json: [:]).clientToken
            let child2 = try await api.send(.post, "auth/token/create", token: parent2, json: [:]).clientToken
            #expect(try await api.send(.put, "auth/token/revoke-orphan", token: root, json: ["token": .string(parent2)]).status == 204)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: parent2).status == 403)
            let survivor = try await api.send(.get, "auth/token/lookup-self", token: child2)
            #expect(survivor.status == 200)
            #expect(survivor.data["orphan"] == true)
        }
    }

    /// A tree larger than one revocation may remove is refused whole: before, the tokens past the cap were unlinked
    /// from their parents and then skipped, so they stayed valid with nothing left to revoke them.
    @Test func aTreeTooLargeToRevokeIsRefusedWhole() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let parent = try await api.send(.post, "auth/token/create", token: root, json: [:]).clientToken
            let child = try await api.send(.post, "auth/token/create", token: parent, json: [:]).clientToken
            let grandchild = try await api.send(.post, "auth/token/create", token: child, json: [:]).clientToken
            let services = harness.broker.makeServices(keys: try await harness.broker.seal.keys())
            let entry = try #require(try await services.tokens.lookup(token: SecretValue(parent), now: harness.clock.now))
            // As a request would: stage the revocation, and commit it unless it threw.
            let transaction = StoreTransaction(store: services.store)
            var refused = false
            do {
                try await services.tokens.revokeTree(entry.value, now: harness.clock.now, in: transaction, limit: 2)
                let event = AuditEvent(
                    time: harness.clock.now, requestID: "", type: "request", operation: "update", path: "auth/token/revoke",
                    actor: AuditActor(authMethod: "token"), remoteAddress: "", outcome: "allowed", environment: "default")
                try await services.commit(transaction.batch(appending: event))
            } catch let error as LeaseholdError {
                refused = error.code == .invalidRequest
            }
            #expect(refused)
            for token in [parent, child, grandchild] {
                #expect(try await api.send(.get, "auth/token/lookup-self", token: token).status == 200)
            }
            #expect(try await api.send(.put, "auth/token/revoke", token: root, json: ["token": .string(parent)]).status == 204)
            for token in [parent, child, grandchild] {
                #expect(try await api.send(.get, "auth/token/lookup-self", token: token).status == 403)
            }
        }
    }

    @Test func lookupByAccessorHidesTheIDAndRevokeAccessorWorks() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let created = try await api.send(.post, "auth/token/create", token: root, json: ["meta": ["team": "db"], "display_name": "alice"])
            let accessor = created.auth["accessor"]!
            let lookup = try await api.send(.post, "auth/token/lookup-accessor", token: root, json: ["accessor": accessor])
            #expect(lookup.data["id"] == "")
            #expect(lookup.data["display_name"] == "token-alice")
            #expect(lookup.data["meta"] == ["team": "db"])
            let list = try await api.send(.list, "auth/token/accessors", token: root)
            #expect(list.status == 200)
            #expect(try await api.send(.post, "auth/token/revoke-accessor", token: root, json: ["accessor": accessor]).status == 204)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: created.clientToken).status == 403)
        }
    }

    @Test func childPoliciesMustBeASubsetAndRootIsReserved() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            _ = try await api.send(.put, "sys/policies/acl/app", token: root, json: ["policy": "path \"auth/token/create\" { capabilities = [\"update\"] }"])
            let app = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["app"]]).clientToken
            #expect(try await api.send(.post, "auth/token/create", token: app, json: ["policies": ["app"]]).status == 200)
            #expect(try await api.send(.post, "auth/token/create", token: app, json: ["policies": ["other"]]).status == 400)
            #expect(try await api.send(.post, "auth/token/create", token: app, json: ["policies": ["root"]]).status == 400)
            #expect(try await api.send(.post, "auth/token/create", token: app, json: ["no_parent": true]).status == 400)
            #expect(try await api.send(.post, "auth/token/create-orphan", token: app, json: [:]).status == 403)
        }
    }

    /// Policy names are compared as stored (lowercase): `ROOT` is root, and `Admin` is `admin`. A role without its
    /// own allow list keeps the child within its parent's policies; a periodic token needs root or sudo.
    @Test func noSpellingOrRoleMintsPoliciesTheParentLacks() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let policy = """
                path "auth/token/create/*" { capabilities = ["update"] }
                path "auth/token/create" { capabilities = ["update", "sudo"] }
                """
            #expect(try await api.send(.put, "sys/policies/acl/minter", token: root, json: ["policy": .string(policy)]).status == 204)
            #expect(try await api.send(.put, "sys/policies/acl/admin", token: root, json: ["policy": "path \"*\" { capabilities = [\"sudo\", \"read\"] }"]).status == 204)
            #expect(try await api.send(.post, "auth/token/roles/open", token: root, json: [:]).status == 204)
            #expect(try await api.send(.post, "auth/token/roles/fenced", token: root, json: ["disallowed_policies": ["Admin"]]).status == 204)
            let minter = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["minter"]]).clientToken

            for spelling in ["ROOT", " Root ", "root"] {
                let viaSudo = try await api.send(.post, "auth/token/create", token: minter, json: ["policies": [.string(spelling)]])
                #expect(viaSudo.status == 400, "\(spelling)")
                let viaRole = try await api.send(.post, "auth/token/create/open", token: minter, json: ["policies": [.string(spelling)]])
                #expect(viaRole.status == 400, "\(spelling)")
            }
            #expect(try await api.send(.post, "auth/token/create/open", token: minter, json: ["policies": ["admin"]]).status == 400)
            #expect(try await api.send(.post, "auth/token/create/fenced", token: root, json: ["policies": ["ADMIN"]]).status == 400)
            let child = try await api.send(.post, "auth/token/create/open", token: minter, json: ["policies": ["Minter"]])
            #expect(child.status == 200)
            #expect(child.auth["policies"] == .strings(["default", "minter"]))

            // Periodic tokens never reach a maximum life: root or sudo only, outside a role.
            _ = try await api.send(.put, "sys/policies/acl/plain", token: root, json: ["policy": "path \"auth/token/create\" { capabilities = [\"update\"] }"])
            let plain = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["plain"]]).clientToken
            #expect(try await api.send(.post, "auth/token/create", token: plain, json: ["period": "1h", "policies": ["plain"]]).status == 400)
            #expect(try await api.send(.post, "auth/token/create", token: minter, json: ["period": "1h", "policies": ["minter"]]).status == 200)
        }
    }

    @Test func periodicAndRoleTokens() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "auth/token/roles/ci", token: root, json: ["allowed_policies": ["ci"], "token_period": "24h", "orphan": true]).status == 204)
            let role = try await api.send(.get, "auth/token/roles/ci", token: root)
            #expect(role.data["token_period"] == 86400)
            let created = try await api.send(.post, "auth/token/create/ci", token: root, json: ["policies": ["ci"]])
            #expect(created.status == 200)
            #expect(created.auth["lease_duration"] == 86400)
            #expect(created.auth["orphan"] == true)
            #expect(try await api.send(.post, "auth/token/create/ci", token: root, json: ["policies": ["admin"]]).status == 400)
            #expect(try await api.send(.list, "auth/token/roles", token: root).data["keys"] == .strings(["ci"]))
            #expect(try await api.send(.delete, "auth/token/roles/ci", token: root).status == 204)
        }
    }

    /// Token roles as in Vault: without `policies`, a role's allowed policies are the token's (the parent's were used,
    /// and refused); a role that disallows `default` keeps it off; restrictions that are not supported are refused
    /// when written instead of silently ignored.
    @Test func tokenRolesGiveTheirPoliciesKeepDefaultOffAndRefuseWhatTheyCannotEnforce() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "auth/token/roles/ci", token: root, json: ["allowed_policies": ["ci", "deploy"]]).status == 204)
            let parent = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["ops"]]).clientToken
            _ = try await api.send(.put, "sys/policies/acl/ops", token: root, json: ["policy": "path \"auth/token/create/ci\" { capabilities = [\"update\"] }"])
            let created = try await api.send(.post, "auth/token/create/ci", token: parent, json: [:])
            #expect(created.status == 200, "\(created.text)")
            #expect(created.auth["policies"] == .strings(["ci", "default", "deploy"]))

            #expect(try await api.send(.post, "auth/token/roles/nodefault", token: root, json: ["disallowed_policies": ["default"]]).status == 204)
            let bare = try await api.send(.post, "auth/token/create/nodefault", token: root, json: ["policies": ["ci"]])
            #expect(bare.auth["policies"] == .strings(["ci"]))

            for field in ["allowed_policies_glob", "disallowed_policies_glob", "token_bound_cidrs", "bound_cidrs"] {
                let refused = try await api.send(.post, "auth/token/roles/x", token: root, json: [field: ["10.0.0.0/8"]])
                #expect(refused.status == 400)
                #expect(refused.errors == ["\(field) is not supported on token roles"])
            }
            let batch = try await api.send(.post, "auth/token/roles/x", token: root, json: ["token_type": "batch"])
            #expect(batch.errors == ["token_type \"batch\" is not supported: only service tokens are issued"])
        }
    }

    @Test func wrappingTokensAreSingleUseUnderConcurrency() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let wrapped = try await api.send(.post, "sys/wrapping/wrap", token: root, json: ["k": "v"], headers: [HTTPField.Name("X-Vault-Wrap-TTL")!: "120"])
            let wrapInfo = wrapped.object["wrap_info"]?.objectValue ?? [:]
            let wrapToken = wrapInfo["token"]?.stringValue ?? ""
            #expect(wrapInfo["ttl"] == 120)
            let lookup = try await api.send(.post, "sys/wrapping/lookup", json: ["token": .string(wrapToken)])
            #expect(lookup.data["creation_path"] == "sys/wrapping/wrap")
            let replies = try await withThrowingTaskGroup(of: APIClient.Reply.self) { group in
                for _ in 0..<20 { group.addTask { try await api.send(.post, "sys/wrapping/unwrap", token: wrapToken) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let successes = replies.filter { $0.status == 200 }
            #expect(successes.count == 1)
            #expect(successes.first?.data == ["k": "v"])
        }
    }

    /// A wrapping token lives exactly its TTL: unwrapped in time it answers; after it, neither unwrap nor lookup
    /// finds it, and the wrapped data is gone with it.
    @Test func aWrappingTokenExpiresWithItsTTL() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let ttl: HTTPFields = [HTTPField.Name("X-Vault-Wrap-TTL")!: "60"]
            let first = try await api.send(.post, "sys/wrapping/wrap", token: root, json: ["k": "v"], headers: ttl)
            let second = try await api.send(.post, "sys/wrapping/wrap", token: root, json: ["k": "w"], headers: ttl)
            let inTime = first.object["wrap_info"]?.objectValue?["token"]?.stringValue ?? ""
            let late = second.object["wrap_info"]?.objectValue?["token"]?.stringValue ?? ""
            harness.clock.advance(by: 59)
            #expect(try await api.send(.post, "sys/wrapping/unwrap", token: inTime).data == ["k": "v"])
            harness.clock.advance(by: 2)
            let expired = try await api.send(.post, "sys/wrapping/unwrap", token: late)
            #expect([400, 403].contains(expired.status), "\(expired.status)")
            #expect(expired.object["data"] == nil || expired.object["data"] == .null)
            #expect(try await api.send(.post, "sys/wrapping/lookup", json: ["token": .string(late)]).status == 400)
            #expect(try await api.send(.post, "sys/wrapping/unwrap", token: root, json: ["token": .string(late)]).status == 400)
        }
    }

    /// A wrapping token that expires or is revoked unused takes its stored response with it (they stayed in the
    /// store forever, wrapped database passwords and tokens included).
    @Test func expiredAndRevokedWrappingTokensLeaveNoStoredResponse() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let ttl: HTTPFields = [HTTPField.Name("X-Vault-Wrap-TTL")!: "60"]
            var tokens: [String] = []
            for _ in 0..<2 {
                let wrapped = try await api.send(.post, "sys/wrapping/wrap", token: root, json: ["secret": "s3cr3t"], headers: ttl)
                tokens.append(try #require(wrapped.object["wrap_info"]?.objectValue?["token"]?.stringValue))
            }
            @Sendable func storedResponses() async throws -> Int {
                try await harness.store.keys(in: StoreNamespace(rawValue: "wrapped-responses"), prefix: "", after: nil, limit: 10).count
            }
            #expect(try await storedResponses() == 2)
            #expect(try await api.send(.put, "auth/token/revoke", token: root, json: ["token": .string(tokens[0])]).status == 204)
            #expect(try await storedResponses() == 1)
            harness.clock.advance(by: 61)
            let drained = try await harness.withReaper { try await eventually { try await storedResponses() == 0 } }
            #expect(drained, "the expired one too")
        }
    }

    @Test func wrappedTokenCreationReturnsTheTokenOnUnwrap() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let wrapped = try await api.send(.post, "auth/token/create", token: root, json: [:], headers: [HTTPField.Name("X-Vault-Wrap-TTL")!: "5m"])
            #expect(wrapped.object["auth"] == .null)
            let wrapToken = wrapped.object["wrap_info"]?.objectValue?["token"]?.stringValue ?? ""
            let unwrapped = try await api.send(.post, "sys/wrapping/unwrap", token: root, json: ["token": .string(wrapToken)])
            #expect(unwrapped.status == 200)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: unwrapped.clientToken).status == 200)
            let again = try await api.send(.post, "sys/wrapping/unwrap", token: root, json: ["token": .string(wrapToken)])
            #expect(again.errors == ["wrapping token is not valid or does not exist"])
        }
    }
}
