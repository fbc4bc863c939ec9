import Foundation
import Logging
import HTTPTypes
import LeaseholdAuditChain
import LeaseholdCore
import LeaseholdService
import Testing

@Suite("Audit rows and encryption at rest")
struct AuditAndEncryptionTests {
    @Test func everyAuthenticatedRequestLeavesAChainedRowWithoutSecrets() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let before = try await harness.store.auditRecords(after: 0, limit: 10_000).count
            let created = try await api.send(.post, "auth/token/create", token: root, json: ["display_name": "canary", "policies": ["default"]])
            let token = created.clientToken
            _ = try await api.send(.get, "auth/token/lookup-self", token: token)
            _ = try await api.send(.get, "sys/mounts", token: token)
            _ = try await api.send(.get, "auth/token/lookup-self", token: "s.not-a-real-token")
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            #expect(records.count == before + 4)
            let newest = Array(records.suffix(4))
            #expect(newest.map(\.event.outcome) == ["allowed", "allowed", "denied", "denied"])
            #expect(newest[2].event.path == "sys/mounts")
            #expect(newest[2].event.actor.accessor == created.auth["accessor"]?.stringValue)
            #expect(newest[2].event.errorClass == "permissionDenied")
            #expect(AuditChain.verify(records, startingAfter: AuditChain.genesisHash, previousSequence: 0) == nil)
            let everything = try records.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!everything.contains(token))
            #expect(!everything.contains(root))
            #expect(!everything.contains("s.not-a-real-token"))
        }
    }

    @Test func unsealKeysNeverReachTheAuditTable() async throws {
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            let initialized = try await api.send(.put, "sys/init", json: ["secret_shares": 1, "secret_threshold": 1])
            let key = initialized.object["keys"].flatMap { value -> String? in
                guard case .array(let items) = value else { return nil }
                return items.first?.stringValue
            } ?? ""
            let base64 = Data(hexString: key)?.base64EncodedString() ?? "-"
            _ = try await api.send(.put, "sys/unseal", json: ["key": .string(key)])
            let records = try await harness.store.auditRecords(after: 0, limit: 10_000)
            let everything = try records.map { String(decoding: try $0.event.canonicalBytes(), as: UTF8.self) }.joined()
            #expect(!everything.contains(key))
            #expect(!everything.contains(base64))
            #expect(!everything.contains(initialized.object["root_token"]?.stringValue ?? "-"))
        }
    }

    @Test func whenTheAuditRowCannotBeWrittenTheRequestIsRefused() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            harness.store.failCommits(true)
            let created = try await api.send(.post, "auth/token/create", token: root, json: [:])
            #expect(created.status == 500)
            #expect(created.clientToken.isEmpty)
            let read = try await api.send(.get, "auth/token/lookup-self", token: root)
            #expect(read.status == 500)
            #expect(read.data.isEmpty)
            harness.store.failCommits(false)
            #expect(try await api.send(.get, "auth/token/accessors?list=true", token: root).data["keys"].map { value -> Int in
                guard case .array(let items) = value else { return 0 }
                return items.count
            } == 1)
        }
    }

    @Test func tamperedOrSwappedCiphertextsFailClosed() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let policyText = "path \"canary-plaintext/*\" { capabilities = [\"read\"] }"
            _ = try await api.send(.put, "sys/policies/acl/one", token: root, json: ["policy": .string(policyText)])
            _ = try await api.send(.put, "sys/policies/acl/two", token: root, json: ["policy": "path \"b\" { capabilities = [\"read\"] }"])
            let one = try #require(try await harness.sqlite.entry(StoreKey(.policies, "one")))
            let two = try #require(try await harness.sqlite.entry(StoreKey(.policies, "two")))
            #expect(!String(decoding: one.value, as: UTF8.self).contains("canary-plaintext"))
            // Swap: a valid ciphertext moved to another row.
            try await harness.sqlite.commit(StoreBatch(operations: [.put(StoreKey(.policies, "two"), one.value, .none)]))
            let swapped = try await api.send(.get, "sys/policies/acl/two", token: root)
            #expect(swapped.status == 500)
            #expect(!swapped.text.contains("canary-plaintext"))
            // Flip one bit.
            var flipped = one.value
            flipped[flipped.count - 20] ^= 0x01
            try await harness.sqlite.commit(StoreBatch(operations: [.put(StoreKey(.policies, "one"), flipped, .none)]))
            let tampered = try await api.send(.get, "sys/policies/acl/one", token: root)
            #expect(tampered.status == 500)
            #expect(!tampered.text.contains("canary-plaintext"))
            // Truncate.
            try await harness.sqlite.commit(StoreBatch(operations: [.put(StoreKey(.policies, "one"), one.value.prefix(10), .none)]))
            #expect(try await api.send(.get, "sys/policies/acl/one", token: root).status == 500)
            _ = two
        }
    }

    /// Encryptions under the data key are counted, every instance's added to the store's count for the term, and
    /// the key is rotated (with its audit row) once that count reaches the threshold; the new term starts at zero,
    /// and a count the store could not take is kept for the next pass.
    @Test func theDataKeyIsRotatedWhenItsTermHasBeenUsedEnough() async throws {
        let (first, second, root, unsealKey) = try await Self.twoInstancesRotatingAt40()
        let firstUsage = DataKeyUsageRecorder(broker: first.broker, logger: Logger(label: "test"))
        let secondUsage = DataKeyUsageRecorder(broker: second.broker, logger: Logger(label: "test"))
        #expect(try await secondUsage.recordUsage() == nil, "sealed: the count waits")
        try await first.withClient { api in
            func writePolicies(_ count: Int, from offset: Int) async throws {
                for index in offset..<(offset + count) {
                    let body: JSONValue = ["policy": .string("path \"p\(index)\" { capabilities = [\"read\"] }")]
                    #expect(try await api.send(.put, "sys/policies/acl/p\(index)", token: root, json: body).status == 204)
                }
            }
            _ = try await firstUsage.recordUsage()
            try await writePolicies(10, from: 0)
            let afterTen = try #require(try await firstUsage.recordUsage())
            #expect(afterTen >= 10)
            #expect(try await api.send(.get, "sys/key-status", token: root).data["term"] == 1)
            try await writePolicies(30, from: 10)
            _ = try await firstUsage.recordUsage()
            #expect(try await api.send(.get, "sys/key-status", token: root).data["term"] == 2)
            let rows = try await first.store.auditRecords(after: 0, limit: 10_000)
            #expect(rows.contains { $0.event.path == "sys/rotate" && $0.event.actor.displayName == "system:data-key-usage" })
            let fresh = try #require(try await firstUsage.recordUsage())
            #expect(fresh < 40, "the new term starts its own count")
            #expect(try await api.send(.get, "sys/key-status", token: root).data["term"] == 2)

            // A store that cannot take the count keeps it for the next pass: nothing counted is lost.
            try await writePolicies(5, from: 40)
            first.store.failCommits(true)
            await #expect(throws: LeaseholdError.self) { try await firstUsage.recordUsage() }
            first.store.failCommits(false)
            let kept = try #require(try await firstUsage.recordUsage())
            #expect(kept >= fresh + 5)

            // Another instance on the same store adds its own count to the term's.
            try await second.withClient { other in
                #expect(try await other.send(.put, "sys/unseal", json: ["key": .string(unsealKey)]).status == 200)
                let before = try #require(try await firstUsage.recordUsage())
                for _ in 0..<3 { #expect(try await other.send(.post, "auth/token/create", token: root, json: [:]).status == 200) }
                let after = try #require(try await secondUsage.recordUsage())
                #expect(after >= before + 3)
            }
        }
    }

    /// Two instances on one store that rotate the data key every 40 encryptions: the first initialized (for
    /// development), the second still sealed; with the root token and the unseal key.
    static func twoInstancesRotatingAt40() async throws -> (BrokerHarness, BrokerHarness, root: String, unsealKey: String) {
        let first = try await BrokerHarness.make(dataKeyUsage: DataKeyUsage(rotationThreshold: 40))
        let initialized = try await first.broker.initializeForDevelopment(rootTokenID: nil)
        let second = try await BrokerHarness.make(dataKeyUsage: DataKeyUsage(rotationThreshold: 40), sharingStoreOf: first)
        return (first, second, initialized.rootToken.revealed, initialized.unsealKey.revealed)
    }

    /// Two instances at one term: once the first rotates, the second, still holding the old term, neither rotates
    /// again (each instance used to, one extra term per instance) nor replaces the new term's count with its own.
    @Test func anInstanceBehindARotationNeitherRotatesAgainNorResetsTheCount() async throws {
        let (first, second, root, unsealKey) = try await Self.twoInstancesRotatingAt40()
        let firstUsage = DataKeyUsageRecorder(broker: first.broker, logger: Logger(label: "test"))
        let secondUsage = DataKeyUsageRecorder(broker: second.broker, logger: Logger(label: "test"))
        try await first.withClient { api in
            try await second.withClient { other in
                #expect(try await other.send(.put, "sys/unseal", json: ["key": .string(unsealKey)]).status == 200)
                for index in 0..<45 {
                    let body: JSONValue = ["policy": .string("path \"p\(index)\" { capabilities = [\"read\"] }")]
                    #expect(try await api.send(.put, "sys/policies/acl/p\(index)", token: root, json: body).status == 204)
                }
                _ = try await firstUsage.recordUsage()
                #expect(try await api.send(.get, "sys/key-status", token: root).data["term"] == 2)
                // The second still holds term 1, whose stored count is past the threshold.
                for _ in 0..<3 { #expect(try await other.send(.post, "auth/token/create", token: root, json: [:]).status == 200) }
                _ = try await secondUsage.recordUsage()
                let rotations = try await first.store.auditRecords(after: 0, limit: 10_000).filter { $0.event.path == "sys/rotate" }
                #expect(rotations.count == 1, "rotated once")
                let counted = try #require(try await firstUsage.recordUsage())
                for _ in 0..<3 { #expect(try await other.send(.post, "auth/token/create", token: root, json: [:]).status == 200) }
                #expect(try await secondUsage.recordUsage() == counted, "the newer term's count is left as it is")
                #expect(try #require(try await firstUsage.recordUsage()) >= counted)
            }
        }
    }

    /// An instance that started before another initialized the shared store sees the initialization: it reported
    /// "not initialized" and refused every share until restarted.
    @Test func anInstanceStartedBeforeInitializationSeesIt() async throws {
        let first = try await BrokerHarness.make()
        let second = try await BrokerHarness.make(sharingStoreOf: first)
        #expect(await second.broker.seal.status().initialized == false)
        let (unsealKey, rootToken) = try await first.broker.initializeForDevelopment(rootTokenID: nil)
        try await second.withClient { other in
            let status = try await other.send(.get, "sys/seal-status")
            #expect(status.object["initialized"] == true)
            #expect(try await other.send(.put, "sys/init", json: ["secret_shares": 1, "secret_threshold": 1]).status == 400)
            #expect(try await other.send(.put, "sys/unseal", json: ["key": .string(unsealKey.revealed)]).status == 200)
            #expect(try await other.send(.get, "auth/token/lookup-self", token: rootToken.revealed).status == 200)
        }
    }

    /// A key-file instance that started before another initialized the shared store unseals itself once it sees
    /// the initialization (it stayed sealed until restarted); sealed on purpose afterwards, it stays sealed.
    @Test func aKeyFileInstanceStartedBeforeInitializationUnsealsItself() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lh-keyfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("unseal.key").path
        let key = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        #expect(FileManager.default.createFile(atPath: keyFile, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600]))
        let first = try await BrokerHarness.make(autoUnseal: .keyFile(path: keyFile))
        let second = try await BrokerHarness.make(autoUnseal: .keyFile(path: keyFile), sharingStoreOf: first)
        #expect(try await second.broker.seal.autoUnsealIfConfigured() == false)
        try await first.withClient { one in
            let initialized = try await one.send(.put, "sys/init", json: [:])
            let root = try #require(initialized.object["root_token"]?.stringValue, "\(initialized.text)")
            try await second.withClient { other in
                // The first try fails (the key ring cannot be read): it is tried again, not given up until a restart.
                second.store.failReads(of: StoreKey(.system, "keyring"))
                #expect(try await other.send(.get, "auth/token/lookup-self", token: root).status == 503)
                second.store.failReads(of: nil)
                let lookup = try await other.send(.get, "auth/token/lookup-self", token: root)
                #expect(lookup.status == 200, "\(lookup.text)")
                #expect(try await other.send(.put, "sys/seal", token: root).status == 204)
                #expect(try await other.send(.get, "auth/token/lookup-self", token: root).status == 503)
                #expect(try await other.send(.get, "sys/seal-status").object["sealed"] == true)
            }
        }
    }

    /// Two instances on one store: after one rotates the data key, the other must read what the first writes under
    /// the new term (it used to fail: its key ring stayed the one it had unsealed with), and write under it too.
    @Test func anotherInstanceFollowsARotationOnTheSameStore() async throws {
        let first = try await BrokerHarness.make()
        let (unsealKey, rootToken) = try await first.broker.initializeForDevelopment(rootTokenID: nil)
        let root = rootToken.revealed
        let second = try await BrokerHarness.make(sharingStoreOf: first)
        let policy: JSONValue = ["policy": "path \"a\" { capabilities = [\"read\"] }"]
        try await first.withClient { one in
            try await second.withClient { other in
                #expect(try await other.send(.put, "sys/unseal", json: ["key": .string(unsealKey.revealed)]).status == 200)
                #expect(try await one.send(.put, "sys/rotate", token: root).status == 204)
                #expect(try await one.send(.put, "sys/policies/acl/after", token: root, json: policy).status == 204)
                #expect(try await other.send(.get, "sys/key-status", token: root).data["term"] == 1)
                // A store that cannot give the rotated ring fails the read with its own error, not as a decryption
                // failure of the value.
                second.store.failReads(of: StoreKey(.system, "keyring"))
                let unavailable = try await other.send(.get, "sys/policies/acl/after", token: root)
                #expect(unavailable.status == 500)
                #expect(unavailable.errors == ["read failed (injected)"])
                second.store.failReads(of: nil)
                // Two requests that both began with the old ring: the one that reloads and the one that asks after it
                // both get a ring for the new term (the second used to get none, and its read failed).
                let after = try #require(try await first.sqlite.entry(StoreKey(.policies, "after"))).value
                let reloaded = try await second.broker.seal.keys(decrypting: after)
                let askedAgain = try await second.broker.seal.keys(decrypting: after)
                #expect(reloaded?.keyRing.hasKey(for: after) == true)
                #expect(askedAgain?.keyRing.hasKey(for: after) == true)
                #expect(try await second.broker.seal.keys(decrypting: Data("not a sealed value".utf8)) == nil)
                #expect(try await other.send(.get, "sys/policies/acl/after", token: root).status == 200)
                #expect(try await other.send(.get, "sys/key-status", token: root).data["term"] == 2)
                #expect(try await other.send(.put, "sys/policies/acl/written", token: root, json: policy).status == 204)
                let written = try #require(try await first.sqlite.entry(StoreKey(.policies, "written")))
                #expect(Array(written.value[1..<5]) == [0, 0, 0, 2])
                // The first instance still has the term-2 ring: rotating there must add term 3 to the stored ring, not
                // replace it with a term 2 of its own (which would orphan everything written under the real one).
                #expect(try await other.send(.put, "sys/rotate", token: root).status == 204)
                #expect(try await other.send(.put, "sys/policies/acl/third", token: root, json: policy).status == 204)
                #expect(try await one.send(.put, "sys/rotate", token: root).status == 204)
                #expect(try await one.send(.get, "sys/key-status", token: root).data["term"] == 4)
                for path in ["sys/policies/acl/after", "sys/policies/acl/written", "sys/policies/acl/third"] {
                    #expect(try await one.send(.get, path, token: root).status == 200, "\(path)")
                    #expect(try await other.send(.get, path, token: root).status == 200, "\(path)")
                }
            }
        }
    }

    /// No audit row, no rotation: when the request's commit fails, neither the store nor this instance moves to a
    /// new term (before, the ring was committed on its own first).
    @Test func aRotationWhoseAuditRowFailsDoesNotHappen() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            harness.store.failCommits(true)
            #expect(try await api.send(.put, "sys/rotate", token: root).status >= 500)
            harness.store.failCommits(false)
            #expect(try await api.send(.get, "sys/key-status", token: root).data["term"] == 1)
            _ = try await api.send(.put, "sys/policies/acl/after", token: root, json: ["policy": "path \"a\" { capabilities = [\"read\"] }"])
            let after = try #require(try await harness.sqlite.entry(StoreKey(.policies, "after")))
            #expect(Array(after.value[1..<5]) == [0, 0, 0, 1])
            // The stored ring is still at its version: the next rotation's conditional write succeeds.
            #expect(try await api.send(.put, "sys/rotate", token: root).status == 204)
            #expect(try await api.send(.get, "sys/key-status", token: root).data["term"] == 2)
        }
    }

    @Test func rotationAddsATermAndOldDataStaysReadable() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            _ = try await api.send(.put, "sys/policies/acl/old", token: root, json: ["policy": "path \"a\" { capabilities = [\"read\"] }"])
            #expect(try await api.send(.put, "sys/rotate", token: root).status == 204)
            #expect(try await api.send(.get, "sys/key-status", token: root).data["term"] == 2)
            _ = try await api.send(.put, "sys/policies/acl/new", token: root, json: ["policy": "path \"b\" { capabilities = [\"read\"] }"])
            #expect(try await api.send(.get, "sys/policies/acl/old", token: root).status == 200)
            #expect(try await api.send(.get, "sys/policies/acl/new", token: root).status == 200)
            let old = try #require(try await harness.sqlite.entry(StoreKey(.policies, "old")))
            let new = try #require(try await harness.sqlite.entry(StoreKey(.policies, "new")))
            #expect(Array(old.value[1..<5]) == [0, 0, 0, 1])
            #expect(Array(new.value[1..<5]) == [0, 0, 0, 2])
            // Seal and unseal again: the rotated ring was persisted.
            #expect(try await api.send(.get, "auth/token/lookup-self", token: root).status == 200)
        }
    }
}
