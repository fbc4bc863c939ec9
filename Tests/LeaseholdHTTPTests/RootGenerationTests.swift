import Foundation
import LeaseholdCore
import Testing

/// `sys/generate-root-token`: an operator whose policy grants sudo there, with the holders of the unseal key shares,
/// mints a new root token encoded with a one-time password only the initiator holds.
@Suite("Root token generation with the unseal key shares")
struct RootGenerationTests {
    static let operatorPolicy = """
        path "sys/generate-root-token/*" { capabilities = ["read", "update", "delete", "sudo"] }
        path "sys/decode-token" { capabilities = ["update"] }
        """

    /// Initializes with 3 shares (threshold 2), unseals, and makes an operator token; returns the shares, the
    /// initial root token and the operator's token.
    func initialized(_ api: APIClient) async throws -> (keys: [String], root: String, operator: String) {
        let reply = try await api.send(.put, "sys/init", json: ["secret_shares": 3, "secret_threshold": 2])
        let keys = (reply.object["keys"]?.arrayValue ?? []).compactMap(\.stringValue)
        #expect(keys.count == 3, "\(reply.text)")
        for key in keys.prefix(2) { _ = try await api.send(.put, "sys/unseal", json: ["key": .string(key)]) }
        let root = reply.object["root_token"]?.stringValue ?? ""
        _ = try await api.send(.put, "sys/policies/acl/operator", token: root, json: ["policy": .string(Self.operatorPolicy)])
        let created = try await api.send(.post, "auth/token/create-orphan", token: root, json: ["policies": ["operator"]])
        return (keys, root, created.clientToken)
    }

    @Test func sharesFromTheHoldersMintARootTokenOnlyTheInitiatorCanDecode() async throws {
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            let (keys, root, operatorToken) = try await initialized(api)
            #expect(try await api.send(.put, "auth/token/revoke-self", token: root).status == 204)
            let path = "sys/generate-root-token/attempt"
            #expect(try await api.send(.get, path).status == 403, "a token is needed")
            let idle = try await api.send(.get, path, token: operatorToken)
            #expect(idle.data["started"] == false, "\(idle.text)")
            #expect(idle.data["required"] == .int(2))
            #expect(idle.data["otp_length"] == .int(34))

            let started = try await api.send(.put, path, token: operatorToken, json: [:])
            #expect(started.status == 200, "\(started.text)")
            let otp = try #require(started.data["otp"]?.stringValue)
            let nonce = try #require(started.data["nonce"]?.stringValue)
            #expect(otp.count == 34)
            #expect(try await api.send(.get, path, token: operatorToken).data["otp"] == "", "the password is shown once")
            #expect(try await api.send(.put, path, token: operatorToken, json: [:]).status == 400, "one attempt at a time")

            func submit(_ key: String, nonce: String) async throws -> APIClient.Reply {
                try await api.send(.put, "sys/generate-root-token/update", token: operatorToken, json: ["key": .string(key), "nonce": .string(nonce)])
            }
            // Fields swapped by mistake: the refused "nonce" is a share, and must not reach the audit row.
            #expect(try await submit(nonce, nonce: keys[1]).status == 400)
            let first = try await submit(keys[0], nonce: nonce)
            #expect(first.data["progress"] == .int(1), "\(first.text)")
            #expect(first.data["complete"] == false)
            let again = try await submit(keys[0], nonce: nonce)
            #expect(again.status == 400, "a share counts once: \(again.text)")
            let last = try await submit(keys[2], nonce: nonce)
            #expect(last.data["complete"] == true, "\(last.text)")
            let encoded = try #require(last.data["encoded_token"]?.stringValue)
            // As in OpenBao, decoding needs no token: it only reverses what its caller holds.
            let decoded = try await api.send(.put, "sys/decode-token", json: ["encoded_token": .string(encoded), "otp": .string(otp)])
            let token = try #require(decoded.data["token"]?.stringValue)
            #expect(token.hasPrefix("s.") && token.count == 34)
            let lookup = try await api.send(.get, "auth/token/lookup-self", token: token)
            #expect(lookup.data["policies"] == .strings(["root"]), "\(lookup.text)")
            #expect(try await api.send(.get, path, token: operatorToken).data["started"] == false)
            #expect(try await api.send(.put, "sys/decode-token", token: operatorToken, json: ["encoded_token": .string(encoded), "otp": "short"]).status == 400)

            // Every step is an audited request; the last names the new token; no share, password or token is in a row.
            let rows = try await harness.store.auditRecords(matching: AuditQuery(), limit: 1000)
                .filter { $0.event.path.hasPrefix("sys/generate-root-token/") || $0.event.path == "sys/decode-token" }
            #expect(rows.count >= 8)
            let completed = rows.filter { $0.event.details["root_token_accessor"] != nil }
            #expect(completed.map { $0.event.details["root_token_accessor"] } == [lookup.data["accessor"]?.stringValue])
            let shares = rows.filter { $0.event.path == "sys/generate-root-token/update" && $0.event.outcome == "allowed" }
            #expect(shares.map { $0.event.details["root_generation_progress"] } == ["1/2", "2/2"])
            #expect(shares.allSatisfy { $0.event.details["root_generation_nonce"] == nonce })
            let text = String(decoding: try JSONEncoder().encode(rows.map(\.event.details)), as: UTF8.self)
            for secret in keys + [otp, token, encoded] { #expect(!text.contains(secret)) }
        }
    }

    @Test func foreignSharesPolicyWithoutSudoCancellationAndSealing() async throws {
        let other = try await BrokerHarness.make()
        let foreign = try await other.withClient { api in try await initialized(api).keys }
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            let (keys, root, operatorToken) = try await initialized(api)
            let path = "sys/generate-root-token/attempt"
            _ = try await api.send(.put, "sys/policies/acl/nosudo", token: root, json: ["policy": "path \"sys/generate-root-token/*\" { capabilities = [\"read\", \"update\", \"delete\"] }"])
            let plain = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["nosudo"]]).clientToken
            #expect(try await api.send(.put, path, token: plain, json: [:]).status == 403, "sudo is needed")

            #expect(try await api.send(.put, path, token: operatorToken, json: ["otp": "too-short"]).status == 400)
            #expect(try await api.send(.put, path, token: operatorToken, json: ["pgp_key": "a-key"]).status == 400)
            let otp = String(repeating: "k", count: 34)
            let started = try await api.send(.put, path, token: operatorToken, json: ["otp": .string(otp)])
            #expect(started.data["otp"] == "", "a caller's own password is not echoed")
            let nonce = try #require(started.data["nonce"]?.stringValue)
            func submit(_ key: String) async throws -> APIClient.Reply {
                try await api.send(.put, "sys/generate-root-token/update", token: operatorToken, json: ["key": .string(key), "nonce": .string(nonce)])
            }
            _ = try await submit(foreign[0])
            let mismatch = try await submit(foreign[1])
            #expect(mismatch.status == 400, "\(mismatch.text)")
            #expect(mismatch.errors.first?.contains("do not match") == true)
            let status = try await api.send(.get, path, token: operatorToken)
            #expect(status.data["started"] == true)
            #expect(status.data["progress"] == .int(0), "the mismatched shares are discarded")
            _ = try await submit(keys[0])
            #expect(try await submit(foreign[2]).status == 400, "one right and one foreign share fail the same way")

            #expect(try await api.send(.delete, path, token: operatorToken).status == 204)
            #expect(try await api.send(.get, path, token: operatorToken).data["started"] == false)
            #expect(try await submit(keys[0]).status == 400, "no attempt in progress")

            // Sealing drops an attempt in progress.
            #expect(try await api.send(.put, path, token: operatorToken, json: [:]).status == 200)
            #expect(try await api.send(.put, "sys/seal", token: root).status == 204)
            for key in keys.prefix(2) { _ = try await api.send(.put, "sys/unseal", json: ["key": .string(key)]) }
            #expect(try await api.send(.get, path, token: operatorToken).data["started"] == false)
        }
    }

    /// A step happens only with its audit row: a share whose request could not be recorded does not count, and the
    /// last share's failure does not waste the quorum's work.
    @Test func aShareCountsOnlyWithItsAuditRow() async throws {
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            let (keys, _, operatorToken) = try await initialized(api)
            let started = try await api.send(.put, "sys/generate-root-token/attempt", token: operatorToken, json: [:])
            let nonce = try #require(started.data["nonce"]?.stringValue)
            func submit(_ key: String) async throws -> APIClient.Reply {
                try await api.send(.put, "sys/generate-root-token/update", token: operatorToken, json: ["key": .string(key), "nonce": .string(nonce)])
            }
            // A cancel that could not be recorded leaves the attempt; so does a share.
            harness.store.failCommitsWithAuditRows(true)
            #expect(try await api.send(.delete, "sys/generate-root-token/attempt", token: operatorToken).status >= 500)
            harness.store.failCommitsWithAuditRows(false)
            #expect(try await api.send(.get, "sys/generate-root-token/attempt", token: operatorToken).data["started"] == true)
            harness.store.failCommitsWithAuditRows(true)
            #expect(try await submit(keys[0]).status >= 500)
            harness.store.failCommitsWithAuditRows(false)
            let status = try await api.send(.get, "sys/generate-root-token/attempt", token: operatorToken)
            #expect(status.data["progress"] == .int(0), "\(status.text)")
            #expect(try await submit(keys[0]).data["progress"] == .int(1))
            harness.store.failCommitsWithAuditRows(true)
            #expect(try await submit(keys[1]).status >= 500)
            harness.store.failCommitsWithAuditRows(false)
            let retried = try await submit(keys[1])
            #expect(retried.data["complete"] == true, "the last share is taken again: \(retried.text)")
            // A start that could not be recorded leaves no attempt.
            harness.store.failCommitsWithAuditRows(true)
            #expect(try await api.send(.put, "sys/generate-root-token/attempt", token: operatorToken, json: [:]).status >= 500)
            harness.store.failCommitsWithAuditRows(false)
            #expect(try await api.send(.get, "sys/generate-root-token/attempt", token: operatorToken).data["started"] == false)
        }
    }

    /// With several instances only the leader serves root generation, so there is one attempt per installation.
    @Test func onlyTheLeaderServesRootGeneration() async throws {
        let leadership = Leadership.shared()
        let harness = try await BrokerHarness.make(leadership: leadership)
        try await harness.withClient { api in
            let (_, _, operatorToken) = try await initialized(api)
            let path = "sys/generate-root-token/attempt"
            let follower = try await api.send(.put, path, token: operatorToken, json: [:])
            #expect(follower.status == 400, "\(follower.text)")
            #expect(try await api.send(.get, path, token: operatorToken).status == 400)
            leadership.update(leading: true, leaderAddress: nil)
            #expect(try await api.send(.put, path, token: operatorToken, json: [:]).status == 200)
        }
    }
}
