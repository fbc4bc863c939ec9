import Foundation
import HTTPTypes
import LeaseholdCore
import Testing

@Suite("Seal: init, unseal, seal, health")
struct SealTests {
    @Test func healthReportsEveryStateWithOverrides() async throws {
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            #expect(try await api.send(.get, "sys/health").status == 501)
            #expect(try await api.send(.get, "sys/health?uninitcode=299").status == 299)
            #expect(try await api.send(.get, "sys/health?sealedcode=abc").status == 400)
            let initialized = try await api.send(.put, "sys/init", json: ["secret_shares": 3, "secret_threshold": 2])
            #expect(initialized.status == 200)
            #expect(try await api.send(.get, "sys/health").status == 503)
            #expect(try await api.send(.get, "sys/health?sealedcode=200").status == 200)
            let head = try await api.send(.head, "sys/health")
            #expect(head.status == 503)
            #expect(head.text.isEmpty)
            for key in initialized.object["keys"].flatMap({ value -> [String]? in
                guard case .array(let items) = value else { return nil }
                return items.compactMap(\.stringValue)
            })!.prefix(2) {
                _ = try await api.send(.put, "sys/unseal", json: ["key": .string(key)])
            }
            #expect(try await api.send(.get, "sys/health").status == 200)
            #expect(try await api.send(.get, "sys/health?activecode=204").status == 204)
        }
    }

    /// Initialization is one commit: when it fails, nothing is stored and `sys/init` can be tried again (before,
    /// the seal was stored first, so a failed root-token commit left an initialized store with no root token and
    /// unseal keys never shown).
    @Test func aFailedInitializationLeavesNothingBehind() async throws {
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            harness.store.failCommitsWithAuditRows(true)
            let failed = try await api.send(.put, "sys/init", json: ["secret_shares": 1, "secret_threshold": 1])
            #expect(failed.status >= 500)
            #expect(failed.object["keys"] == nil)
            harness.store.failCommitsWithAuditRows(false)
            #expect(try await api.send(.get, "sys/init").object["initialized"] == false)
            let initialized = try await api.send(.put, "sys/init", json: ["secret_shares": 1, "secret_threshold": 1])
            #expect(initialized.status == 200)
            let key = try #require(initialized.object["keys"]?.arrayValue?.first?.stringValue)
            #expect(try await api.send(.put, "sys/unseal", json: ["key": .string(key)]).object["sealed"] == false)
            let root = try #require(initialized.object["root_token"]?.stringValue)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: root).status == 200)
        }
    }

    @Test func anyThresholdOfSharesUnsealsAndFewerDoNot() async throws {
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            let initialized = try await api.send(.put, "sys/init", json: ["secret_shares": 5, "secret_threshold": 3])
            guard case .array(let hexKeys)? = initialized.object["keys"], case .array(let base64Keys)? = initialized.object["keys_base64"] else {
                Issue.record("no keys")
                return
            }
            #expect(hexKeys.count == 5)
            #expect(initialized.object["root_token"]?.stringValue?.hasPrefix("s.") == true)
            // Two shares: still sealed, progress 2.
            _ = try await api.send(.put, "sys/unseal", json: ["key": hexKeys[4]])
            let second = try await api.send(.put, "sys/unseal", json: ["key": base64Keys[1]])
            #expect(second.object["sealed"] == true)
            #expect(second.object["progress"] == 2)
            // Submitting the same share again does not count.
            let repeated = try await api.send(.put, "sys/unseal", json: ["key": base64Keys[1]])
            #expect(repeated.object["progress"] == 2)
            let third = try await api.send(.put, "sys/unseal", json: ["key": hexKeys[2]])
            #expect(third.object["sealed"] == false)
            #expect(third.object["progress"] == 0)
        }
    }

    @Test func wrongSharesNeverUnsealAndResetClearsProgress() async throws {
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            _ = try await api.send(.put, "sys/init", json: ["secret_shares": 3, "secret_threshold": 2])
            let short = try await api.send(.put, "sys/unseal", json: ["key": "abcd"])
            #expect(short.status == 400)
            #expect(short.errors == ["invalid key: key is shorter than minimum 16 bytes"])
            let bogus1 = Data((0..<33).map { UInt8($0) }).base64EncodedString()
            let bogus2 = Data((0..<33).map { UInt8(($0 * 7) % 251) }).base64EncodedString()
            _ = try await api.send(.put, "sys/unseal", json: ["key": .string(bogus1)])
            let failed = try await api.send(.put, "sys/unseal", json: ["key": .string(bogus2)])
            #expect(failed.status == 400)
            let status = try await api.send(.get, "sys/seal-status")
            #expect(status.object["sealed"] == true)
            #expect(status.object["progress"] == 0)
            _ = try await api.send(.put, "sys/unseal", json: ["key": .string(bogus1)])
            let reset = try await api.send(.put, "sys/unseal", json: ["reset": true])
            #expect(reset.object["progress"] == 0)
        }
    }

    @Test func sealedBrokerAnswers503EverywhereButBootstrap() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.put, "sys/seal", token: root).status == 204)
            for (method, path) in [
                (HTTPRequest.Method.get, "auth/token/lookup-self"), (.put, "auth/token/create"), (.get, "sys/mounts"),
                (.list, "sys/policies/acl"), (.put, "sys/wrapping/unwrap"), (.get, "sys/internal/ui/mounts"),
                (.get, "database/creds/x"), (.put, "sys/seal"),
            ] {
                let reply = try await api.send(method, path, token: root)
                #expect(reply.status == 503, "\(path)")
                #expect(reply.errors == ["Vault is sealed"], "\(path)")
            }
            #expect(try await api.send(.get, "sys/seal-status").status == 200)
            #expect(try await api.send(.get, "sys/init").object["initialized"] == true)
            #expect(try await api.send(.get, "sys/leader").status == 200)
            #expect(try await api.send(.get, "sys/health").status == 503)
        }
    }

    /// A request running when the broker is sealed answers 503: no token (or credential) it made leaves after the
    /// seal, even though its commit, held up here, lands afterwards.
    @Test func aRequestInFlightDuringASealAnswers503() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            harness.store.pauseCommits(true)
            let creation = Task { try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["default"]]) }
            try await Task.sleep(for: .milliseconds(200))
            await harness.broker.seal.seal()
            harness.store.pauseCommits(false)
            let reply = try await creation.value
            #expect(reply.status == 503)
            #expect(reply.object["auth"] == nil || reply.object["auth"] == .null)
            #expect(try await api.send(.get, "sys/seal-status").object["sealed"] == true)
        }
    }

    @Test func sealNeedsSudo() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            _ = try await api.send(.put, "sys/policies/acl/sealer", token: root, json: ["policy": "path \"sys/seal\" { capabilities = [\"update\"] }"])
            let token = try await api.send(.post, "auth/token/create", token: root, json: ["policies": ["sealer"]]).clientToken
            #expect(try await api.send(.put, "sys/seal", token: token).status == 403)
            #expect(try await api.send(.put, "sys/seal").status == 403)
            #expect(try await api.send(.get, "sys/seal-status").object["sealed"] == false)
        }
    }

    @Test func initTwiceIsRefused() async throws {
        let (harness, _) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let again = try await api.send(.put, "sys/init", json: ["secret_shares": 1, "secret_threshold": 1])
            #expect(again.status == 400)
        }
    }

    @Test(arguments: [(0, 0), (3, 4), (256, 2), (2, 0), (3, 1), (2, 1)])
    func invalidSeal(shares: Int, threshold: Int) async throws {
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            let reply = try await api.send(.put, "sys/init", json: ["secret_shares": .int(shares), "secret_threshold": .int(threshold)])
            #expect(reply.status == 400)
            #expect(try await api.send(.get, "sys/init").object["initialized"] == false)
        }
    }
}
