import AsyncHTTPClient
import Foundation
import LeaseholdCore
import LeaseholdHTTP
@testable import LeaseholdService
import NIOCore
import Testing

@Suite("Failure paths: source-address bounds and unreachable targets")
struct FailurePathTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.1.2.3:5000", true), ("10.0.0.0/8", "11.0.0.1:5000", false), ("192.168.1.7", "192.168.1.7", true),
        ("192.168.1.0/24", "192.168.2.1", false), ("::1/128", "[::1]:8200", true), ("fd00::/8", "[fe80::1]:1", false),
        ("0.0.0.0/0", "203.0.113.9:1", true), ("10.0.0.0/8", "", false), ("10.0.0.0/8", "not-an-address", false),
    ])
    func cidrBlocksMatchOnlyTheirAddresses(block: String, address: String, expected: Bool) throws {
        #expect(try CIDRBlock(block).contains(address) == expected)
    }

    /// The address text the HTTP layer makes from a connection's peer, as the checks then read it. IPv6 was not
    /// bracketed, so `2001:db8::5:a:b:c` port 443 read as `2001:db8:0:5:a:b:c:443` (another /64), and a dual-stack
    /// listener's IPv4 clients (`::ffff:10.1.2.3`) matched no IPv4 block.
    @Test func peerAddressesAreReadAsTheirHostsWhateverTheFamily() throws {
        let ipv6 = BrokerRequestContext.addressText(ip: "2001:db8::5:a:b:c", port: 443)
        #expect(ipv6 == "[2001:db8::5:a:b:c]:443")
        #expect(try CIDRBlock("2001:db8::/64").contains(ipv6))
        #expect(try !CIDRBlock("2001:db8:0:5::/64").contains(ipv6))
        let mapped = BrokerRequestContext.addressText(ip: "::ffff:10.1.2.3", port: 5555)
        #expect(mapped == "10.1.2.3:5555")
        #expect(try CIDRBlock("10.0.0.0/8").contains(mapped))
        #expect(BrokerRequestContext.addressText(ip: "192.0.2.1", port: 80) == "192.0.2.1:80")
        #expect(BrokerRequestContext.addressText(ip: "::1", port: 8200) == "[::1]:8200")
        // The host part (the throttle's key) leaves the port out, so a new connection is not a new budget.
        #expect(CIDRBlock.host(of: ipv6) == "2001:db8::5:a:b:c")
        #expect(CIDRBlock.host(of: BrokerRequestContext.addressText(ip: "::1", port: 1)) == CIDRBlock.host(of: "[::1]:2"))
    }

    @Test func aListLiesWithinAnotherOnlyWhenEveryBlockIsInsideOneOfItsBlocks() {
        #expect(CIDRBlock.areWithin(["10.1.0.0/16", "10.2.3.4"], ["10.0.0.0/8"]))
        #expect(CIDRBlock.areWithin(["10.0.0.0/8"], []), "no outer list: no restriction")
        #expect(CIDRBlock.areWithin([], ["10.0.0.0/8"]))
        #expect(!CIDRBlock.areWithin(["10.0.0.0/7"], ["10.0.0.0/8"]), "wider than the outer block")
        #expect(!CIDRBlock.areWithin(["11.0.0.0/8"], ["10.0.0.0/8"]))
        #expect(!CIDRBlock.areWithin(["10.1.0.0/16", "192.168.0.0/16"], ["10.0.0.0/8"]), "one block outside")
        #expect(CIDRBlock.areWithin(["fd00:1::/32"], ["fd00::/16"]))
        #expect(!CIDRBlock.areWithin(["fd00::/16"], ["10.0.0.0/8"]), "another address family")
        // IPv4-mapped IPv6 blocks and addresses are their IPv4 selves.
        #expect(CIDRBlock.areWithin(["::ffff:10.0.0.1/128"], ["10.0.0.0/8"]))
        #expect(CIDRBlock.areWithin(["10.1.0.0/16"], ["::ffff:10.0.0.0/104"]))
        #expect(CIDRBlock.allows(["::ffff:10.0.0.0/104"], "10.2.3.4:5000"))
        #expect(CIDRBlock.allows(["10.0.0.0/8"], "[::ffff:10.2.3.4]:5000"))
        #expect(!CIDRBlock.allows(["::ffff:10.0.0.0/104"], "11.2.3.4:5000"))
        #expect(!CIDRBlock.areWithin(["not a block"], ["10.0.0.0/8"]))
    }

    @Test(arguments: ["10.0.0.0/33", "300.1.1.1/8", "abc", "10.0.0.0/-1", "::1/129", "/", "/8", "10.0.0.0/", ""])
    func malformedBlocksAreRefused(block: String) {
        #expect(throws: LeaseholdError.self) { try CIDRBlock(block) }
    }

    @Test func loginsFromOutsideTheBoundBlocksFailLikeAnyOtherLogin() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            _ = try await api.send(.post, "sys/auth/approle", token: root, json: ["type": "approle"])
            #expect(try await api.send(.post, "auth/approle/role/bound", token: root, json: ["secret_id_bound_cidrs": ["10.0.0.0/8"]]).status == 204)
            #expect(try await api.send(.post, "auth/approle/role/tokens", token: root, json: ["token_bound_cidrs": ["10.0.0.0/8"]]).status == 204)
            #expect(try await api.send(.post, "auth/approle/role/badcidr", token: root, json: ["token_bound_cidrs": ["10.0.0.0/99"]]).status == 400)
            for role in ["bound", "tokens"] {
                let roleID = try await api.send(.get, "auth/approle/role/\(role)/role-id", token: root).data["role_id"] ?? ""
                let secretID = try await api.send(.post, "auth/approle/role/\(role)/secret-id", token: root, json: [:]).data["secret_id"] ?? ""
                // The in-process client has no address inside 10.0.0.0/8.
                let login = try await api.send(.post, "auth/approle/login", json: ["role_id": roleID, "secret_id": secretID])
                #expect(login.status == 400, "\(role)")
                #expect(login.errors == ["invalid role or secret ID"])
            }
        }
    }

    /// `token_bound_cidrs` binds the token, not just the login: used from another address it is refused, and so
    /// is a child it created (an unbound child could be carried anywhere).
    @Test func boundTokensWorkOnlyFromTheirBlocks() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            _ = try await api.send(.post, "sys/auth/approle", token: root, json: ["type": "approle"])
            _ = try await api.send(.put, "sys/policies/acl/creator", token: root, json: ["policy": "path \"auth/token/create*\" { capabilities = [\"update\"] }"])
            #expect(try await api.send(.post, "auth/approle/role/local", token: root, json: ["token_bound_cidrs": ["127.0.0.0/8"], "token_policies": ["creator"]]).status == 204)
            let roleID = try await api.send(.get, "auth/approle/role/local/role-id", token: root).data["role_id"]?.stringValue ?? ""
            let secretID = try await api.send(.post, "auth/approle/role/local/secret-id", token: root, json: [:]).data["secret_id"]?.stringValue ?? ""
            try await harness.withLiveListener(certificates: nil) { port in
                let client = HTTPClient(eventLoopGroupProvider: .singleton)
                defer { _ = client.shutdown() }
                func send(_ path: String, token: String? = nil, body: String? = nil) async throws -> (Int, String) {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/\(path)")
                    request.method = body == nil ? .GET : .POST
                    if let token { request.headers.add(name: "X-Vault-Token", value: token) }
                    if let body { request.body = .bytes(ByteBuffer(string: body)) }
                    let response = try await client.execute(request, timeout: .seconds(10))
                    return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
                }
                let (status, text) = try await send("auth/approle/login", body: "{\"role_id\":\"\(roleID)\",\"secret_id\":\"\(secretID)\"}")
                #expect(status == 200, "\(text)")
                let token = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)).objectValue?["auth"]?.objectValue?["client_token"]?.stringValue)
                #expect(try await send("auth/token/lookup-self", token: token).0 == 200)
                // The in-process client has no address in 127.0.0.0/8: the same token is refused there.
                #expect(try await api.send(.get, "auth/token/lookup-self", token: token).status == 403)
                for path in ["auth/token/create", "auth/token/create-orphan"] {
                    let (created, body) = try await send(path, token: token, body: "{}")
                    #expect(created == 200, "\(body)")
                    let child = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)).objectValue?["auth"]?.objectValue?["client_token"]?.stringValue)
                    #expect(try await send("auth/token/lookup-self", token: child).0 == 200)
                    #expect(try await api.send(.get, "auth/token/lookup-self", token: child).status == 403, "\(path)")
                }
            }
        }
    }

    @Test func anUnreachableTargetFailsIssuanceQuicklyAndIsReportedNotHidden() async throws {
        let (harness, root) = try await BrokerHarness.unsealed(withEngines: true)
        try await harness.withClient { api in
            let config = try await api.configureUnreachableConnection("down", token: root, adminPassword: "canary-admin-password")
            #expect(config.status == 204, "\(config.text)")
            _ = try await api.send(.post, "database/roles/r", token: root, json: [
                "db_name": "down", "creation_statements": "CREATE ROLE \"{{name}}\" LOGIN PASSWORD '{{password}}';",
            ])
            let started = ContinuousClock.now
            let creds = try await api.send(.get, "database/creds/r", token: root)
            #expect(creds.status == 500)
            #expect(creds.errors.first?.contains("did not answer") == true, "\(creds.text)")
            #expect(!creds.text.contains("canary-admin-password"))
            #expect(ContinuousClock.now - started < .seconds(20))
            // The pending lease is kept for the reaper, never dropped silently.
            let pending = try await api.send(.list, "sys/leases/lookup/database/creds/r", token: root)
            #expect(pending.status == 200)
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            #expect(records.contains { $0.event.type == "lease.failed" && $0.event.details["cleanup"] == "deferred to the reaper" })
            let everything = try records.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!everything.contains("canary-admin-password"))
            // The reconciler reports the target it could not examine.
            let report = try await api.send(.put, "sys/leases/reconcile", token: root, json: ["dry_run": true])
            #expect(report.status == 200)
            #expect(report.data["unreachable"]?.objectValue?["database/down"] != nil, "\(report.text)")
        }
    }
}
