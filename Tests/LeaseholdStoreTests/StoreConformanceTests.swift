import Crypto
import Foundation
import LeaseholdAuditChain
import LeaseholdCore
import LeaseholdMigrations
import LeaseholdTestSupport
import Testing

/// One behavioural contract, run against every available ``BrokerStore`` implementation.
@Suite("BrokerStore conformance")
struct StoreConformanceTests {
    let tokens = StoreNamespace(rawValue: "tokens")
    let leases = StoreNamespace(rawValue: "leases")

    @Test("put and get with increasing versions", arguments: StoreKind.available)
    func putAndGet(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            let key = StoreKey(tokens, "a")
            #expect(try await store.entry(key) == nil)
            try await store.commit(StoreBatch(operations: [.put(key, Data("one".utf8), .none)]))
            #expect(try await store.entry(key) == StoreEntry(value: Data("one".utf8), version: 1))
            try await store.commit(StoreBatch(operations: [.put(key, Data("two".utf8), .none)]))
            #expect(try await store.entry(key) == StoreEntry(value: Data("two".utf8), version: 2))
            try await store.commit(StoreBatch(operations: [.put(key, Data(), .none)]))
            #expect(try await store.entry(key) == StoreEntry(value: Data(), version: 3))
            #expect(try await store.entry(StoreKey(leases, "a")) == nil)
        }
    }

    @Test("conditions: absent, version, none, checks; a conflict changes nothing", arguments: StoreKind.available)
    func conditions(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            let key = StoreKey(tokens, "k")
            let missing = StoreKey(tokens, "missing")
            try await store.commit(StoreBatch(operations: [.put(key, Data("v1".utf8), .absent)]))
            let original = StoreEntry(value: Data("v1".utf8), version: 1)

            let conflicting: [StoreOperation] = [
                .put(key, Data("x".utf8), .absent),
                .put(key, Data("x".utf8), .version(2)),
                .put(missing, Data("x".utf8), .version(1)),
                .delete(key, .absent),
                .delete(key, .version(7)),
                .delete(missing, .version(1)),
                .check(key, .absent),
                .check(key, .version(2)),
                .check(missing, .version(1)),
            ]
            for operation in conflicting {
                // With a write that would succeed on its own: the whole batch fails.
                await #expect(throws: LeaseholdError(.conflict, "")) {
                    try await store.commit(StoreBatch(operations: [.put(StoreKey(leases, "other"), Data(), .none), operation]))
                }
                #expect(try await store.entry(StoreKey(leases, "other")) == nil)
                #expect(try await store.entry(key) == original)
                #expect(try await store.entry(missing) == nil)
            }

            // A check that holds writes nothing, and lets the rest of its batch commit.
            try await store.commit(StoreBatch(operations: [
                .check(key, .version(1)), .check(missing, .absent), .check(key, .none), .put(StoreKey(leases, "other"), Data(), .none),
            ]))
            #expect(try await store.entry(key) == original)
            #expect(try await store.entry(StoreKey(leases, "other"))?.version == 1)

            try await store.commit(StoreBatch(operations: [.put(key, Data("v2".utf8), .version(1))]))
            #expect(try await store.entry(key) == StoreEntry(value: Data("v2".utf8), version: 2))
            try await store.commit(StoreBatch(operations: [.delete(missing, .absent)]))
            try await store.commit(StoreBatch(operations: [.delete(key, .version(2))]))
            #expect(try await store.entry(key) == nil)
        }
    }

    @Test("delete semantics", arguments: StoreKind.available)
    func deletion(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            let key = StoreKey(tokens, "d")
            try await store.commit(StoreBatch(operations: [.delete(key, .none)]))
            try await store.commit(
                StoreBatch(operations: [.put(key, Data("1".utf8), .none), .put(key, Data("2".utf8), .none)])
            )
            #expect(try await store.entry(key)?.version == 2)
            try await store.commit(StoreBatch(operations: [.delete(key, .none)]))
            #expect(try await store.entry(key) == nil)
            #expect(try await store.keys(in: tokens, prefix: "", after: nil, limit: 10).isEmpty)
            try await store.commit(StoreBatch(operations: [.put(key, Data("3".utf8), .absent)]))
            #expect(try await store.entry(key) == StoreEntry(value: Data("3".utf8), version: 1))
        }
    }

    @Test("key listing and counting: prefix range scan, bytewise order, paging, no wildcards", arguments: StoreKind.available)
    func keyListing(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            let keys = [
                "a", "a%", "a%b", "a_", "a_b", "ab", "a/b", "a/c/d", "aé", "a\u{10FFFF}", "a\u{10FFFF}z", "b", "Z",
                "日本", "日本/語", "%", "_", "\u{10FFFF}",
            ]
            try await store.commit(
                StoreBatch(operations: keys.map { .put(StoreKey(tokens, $0), Data($0.utf8), .none) })
            )
            try await store.commit(StoreBatch(operations: [.put(StoreKey(leases, "a-other"), Data(), .none)]))

            let bytewise = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            #expect(try await store.allKeys(in: tokens) == bytewise)
            #expect(try await store.allKeys(in: tokens, prefix: "a%") == ["a%", "a%b"])
            #expect(try await store.allKeys(in: tokens, prefix: "a_") == ["a_", "a_b"])
            #expect(try await store.allKeys(in: tokens, prefix: "%") == ["%"])
            #expect(try await store.allKeys(in: tokens, prefix: "_") == ["_"])
            #expect(try await store.allKeys(in: tokens, prefix: "a/") == ["a/b", "a/c/d"])
            #expect(try await store.allKeys(in: tokens, prefix: "日本") == ["日本", "日本/語"])
            #expect(try await store.allKeys(in: tokens, prefix: "a\u{10FFFF}") == ["a\u{10FFFF}", "a\u{10FFFF}z"])
            #expect(try await store.allKeys(in: tokens, prefix: "\u{10FFFF}") == ["\u{10FFFF}"])
            #expect(try await store.allKeys(in: tokens, prefix: "c").isEmpty)
            #expect(try await store.allKeys(in: leases) == ["a-other"])

            let aKeys = bytewise.filter { $0.hasPrefix("a") }
            var paged: [String] = []
            var cursor: String?
            while true {
                let page = try await store.keys(in: tokens, prefix: "a", after: cursor, limit: 3)
                #expect(page.count <= 3)
                paged += page
                guard page.count == 3, let last = page.last else { break }
                cursor = last
            }
            #expect(paged == aKeys)
            // A long page (read on the SQLite store's scan queue) gives the same keys as short ones.
            #expect(try await store.keys(in: tokens, prefix: "a", after: nil, limit: 100_000) == aKeys)
            #expect(try await store.keys(in: tokens, prefix: "a", after: aKeys[1], limit: 5_000) == Array(aKeys.dropFirst(2)))
            #expect(try await store.keys(in: tokens, prefix: "a", after: nil, limit: 0).isEmpty)

            // Counting takes the same range, stops at the limit, and sees no wildcard or other namespace.
            #expect(try await store.countKeys(in: tokens, prefix: "", upTo: 1_000) == keys.count)
            #expect(try await store.countKeys(in: tokens, prefix: "a", upTo: 1_000) == aKeys.count)
            #expect(try await store.countKeys(in: tokens, prefix: "a", upTo: 3) == 3)
            #expect(try await store.countKeys(in: tokens, prefix: "a", upTo: 0) == 0)
            #expect(try await store.countKeys(in: tokens, prefix: "a%", upTo: 1_000) == 2)
            #expect(try await store.countKeys(in: tokens, prefix: "_", upTo: 1_000) == 1)
            #expect(try await store.countKeys(in: tokens, prefix: "\u{10FFFF}", upTo: 1_000) == 1)
            #expect(try await store.countKeys(in: tokens, prefix: "c", upTo: 1_000) == 0)
            #expect(try await store.countKeys(in: leases, prefix: "a", upTo: 1_000) == 1)
            #expect(try await store.countKeys(in: tokens, prefix: "a", upTo: 1_000_000) == aKeys.count)
        }
    }

    @Test(
        "a batch is atomic: one failed condition rolls back all its writes and audit events",
        arguments: StoreKind.available
    )
    func atomicBatch(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            let existing = StoreKey(tokens, "existing")
            try await store.commit(StoreBatch(operations: [.put(existing, Data("keep".utf8), .none)]))
            let batch = StoreBatch(
                operations: [
                    .put(StoreKey(tokens, "new"), Data("n".utf8), .none),
                    .delete(existing, .none),
                    .put(StoreKey(tokens, "other"), Data("o".utf8), .absent),
                    .put(StoreKey(tokens, "new"), Data("n".utf8), .absent),  // fails: written earlier in the batch
                ],
                auditEvents: [Self.event("rolled-back")]
            )
            await #expect(throws: LeaseholdError(.conflict, "")) { try await store.commit(batch) }
            #expect(try await store.allKeys(in: tokens) == ["existing"])
            #expect(try await store.entry(existing) == StoreEntry(value: Data("keep".utf8), version: 1))
            #expect(try await store.auditRecords(after: 0, limit: 10).isEmpty)
        }
    }

    @Test("audit records are chained, read back exactly, and verify", arguments: StoreKind.available)
    func auditChain(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            let events = [
                Self.event("r1", details: ["lease_id": "database/creds/ro/abc", "quote": "\"'%_\\"]),
                Self.event("r2", errorClass: "permissionDenied"),
                Self.event("r3", time: Date(timeIntervalSince1970: 1_760_000_000.123456789)),
                Self.event("r4", time: Date(timeIntervalSince1970: 0.000001)),
            ]
            try await store.commit(StoreBatch(auditEvents: Array(events[0..<2])))
            try await store.commit(
                StoreBatch(operations: [.put(StoreKey(tokens, "t"), Data(), .none)], auditEvents: [events[2]])
            )
            try await store.commit(StoreBatch(auditEvents: [events[3]]))

            let records = try await store.auditRecords(after: 0, limit: 100)
            #expect(records.map(\.sequence) == [1, 2, 3, 4])
            #expect(records.first?.previousHash == AuditChain.genesisHash)
            for (record, event) in zip(records, events) {
                #expect(try record.event.canonicalBytes() == event.canonicalBytes())
                #expect(record.event.details == event.details)
                #expect(record.event.actor == event.actor)
            }
            #expect(AuditChain.verify(records, startingAfter: AuditChain.genesisHash, previousSequence: 0) == nil)

            var tampered = records
            tampered[1].event.outcome = "allowed"
            #expect(
                AuditChain.verify(tampered, startingAfter: AuditChain.genesisHash, previousSequence: 0)
                    == AuditChainBreak(sequence: 2, kind: .altered)
            )
        }
    }

    @Test("audit read-back pages by sequence", arguments: StoreKind.available)
    func auditPaging(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            for index in 0..<25 { try await store.commit(StoreBatch(auditEvents: [Self.event("p\(index)")])) }
            var head = AuditChainHead.genesis
            var all: [AuditRecord] = []
            while true {
                let page = try await store.auditRecords(after: head.sequence, limit: 10)
                #expect(AuditChain.verify(page, startingAfter: head.hash, previousSequence: head.sequence) == nil)
                all += page
                guard let last = page.last else { break }
                head = AuditChainHead(sequence: last.sequence, hash: last.hash)
            }
            #expect(all.map(\.sequence) == Array(1...25))
            #expect(all.map(\.event.requestID) == (0..<25).map { "p\($0)" })
            #expect(try await store.auditRecords(after: 25, limit: 10).isEmpty)
        }
    }

    @Test("audit queries filter by time, type, identity and details, with bound values and cursors", arguments: StoreKind.available)
    func auditQueries(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            var events: [AuditEvent] = []
            for index in 0..<12 {
                var event = Self.event("q\(index)", time: start.addingTimeInterval(Double(index) * 60), details: [
                    "db_username": index % 3 == 0 ? "v-alice" : "v-bob'; DROP TABLE audit_log; --",
                    "role": index % 2 == 0 ? "readonly" : "read_write",
                ])
                event.type = index % 4 == 0 ? "lease.issue" : (index % 4 == 1 ? "lease.revoke_failed" : "request")
                event.environment = index < 6 ? "prod" : "dev"
                events.append(event)
            }
            try await store.commit(StoreBatch(auditEvents: events))
            func ids(_ configure: (inout AuditQuery) -> Void, limit: Int = 100) async throws -> [String] {
                var query = AuditQuery()
                configure(&query)
                return try await store.auditRecords(matching: query, limit: limit).map(\.event.requestID)
            }
            #expect(try await ids { $0.details = ["db_username": "v-alice"] } == ["q0", "q3", "q6", "q9"])
            #expect(try await ids { $0.details = ["db_username": "v-bob'; DROP TABLE audit_log; --", "role": "readonly"] } == ["q2", "q4", "q8", "q10"])
            #expect(try await ids { $0.types = ["lease.*"] } == ["q0", "q1", "q4", "q5", "q8", "q9"])
            // `_` in a prefix is literal, not a LIKE wildcard.
            #expect(try await ids { $0.types = ["lease.revoke_*"] } == ["q1", "q5", "q9"])
            #expect(try await ids { $0.types = ["lease.issue", "request"]; $0.environment = "dev" } == ["q6", "q7", "q8", "q10", "q11"])
            #expect(try await ids { $0.since = start.addingTimeInterval(120); $0.until = start.addingTimeInterval(300) } == ["q2", "q3", "q4"])
            #expect(try await ids { $0.accessor = "acc-q5" } == ["q5"])
            #expect(try await ids { $0.displayName = "token-ci"; $0.authMethod = "nope" } == [])
            // Cursors in both directions.
            let firstPage = try await store.auditRecords(matching: AuditQuery(), limit: 5)
            var next = AuditQuery()
            next.after = firstPage.last?.sequence
            #expect(try await store.auditRecords(matching: next, limit: 5).map(\.event.requestID) == ["q5", "q6", "q7", "q8", "q9"])
            #expect(try await ids({ $0.newestFirst = true }, limit: 3) == ["q11", "q10", "q9"])
            #expect(try await ids({ $0.newestFirst = true; $0.before = 10 }, limit: 2) == ["q8", "q7"])
            // Hostile filter names are refused before any SQL.
            await #expect(throws: LeaseholdError.self) { _ = try await ids { $0.details = ["x') OR 1=1 --": "y"] } }
            await #expect(throws: LeaseholdError.self) { _ = try await ids { $0.types = ["%"] } }
            // Retention deletes a prefix; the rest still verifies from its predecessor's hash.
            let all = try await store.auditRecords(after: 0, limit: 100)
            try await store.deleteAuditRecords(through: 4)
            let kept = try await store.auditRecords(after: 0, limit: 100)
            #expect(kept.map(\.sequence) == Array(5...12))
            #expect(AuditChain.verify(kept, startingAfter: all[3].hash, previousSequence: 4) == nil)
        }
    }

    @Test("200 concurrent commits are all acknowledged and present", arguments: StoreKind.available)
    func groupCommit(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        try await store.commit(
                            StoreBatch(
                                operations: [
                                    .put(
                                        StoreKey(tokens, String(format: "c%03d", index)),
                                        Data([UInt8(index % 256)]),
                                        .absent
                                    )
                                ],
                                auditEvents: [Self.event("c\(index)")]
                            )
                        )
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.allKeys(in: tokens) == (0..<200).map { String(format: "c%03d", $0) })
            let records = try await store.auditRecords(after: 0, limit: 1000)
            #expect(records.count == 200)
            #expect(Set(records.map(\.event.requestID)) == Set((0..<200).map { "c\($0)" }))
            #expect(AuditChain.verify(records, startingAfter: AuditChain.genesisHash, previousSequence: 0) == nil)
        }
    }

    @Test("50 concurrent compare-and-swaps on one version: exactly one wins", arguments: StoreKind.available)
    func compareAndSwapRace(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store, _ in
            let key = StoreKey(leases, "contended")
            try await store.commit(StoreBatch(operations: [.put(key, Data("start".utf8), .none)]))
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        do {
                            try await store.commit(
                                StoreBatch(
                                    operations: [.put(key, Data("w\(index)".utf8), .version(1))],
                                    auditEvents: [Self.event("cas\(index)")]
                                )
                            )
                            return true
                        } catch let error as LeaseholdError where error.code == .conflict {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await store.entry(key)?.version == 2)
            #expect(try await store.auditRecords(after: 0, limit: 100).count == 1)
        }
    }

    @Test("data persists across reopening", arguments: StoreKind.available)
    func reopen(kind: StoreKind) async throws {
        try await StoreFixture.withFixture(kind) { fixture in
            try await fixture.withStore { store in
                try await store.commit(
                    StoreBatch(
                        operations: [.put(StoreKey(tokens, "kept"), Data("v".utf8), .none)],
                        auditEvents: [Self.event("before")]
                    )
                )
            }
            try await fixture.withStore { store in
                #expect(
                    try await store.entry(StoreKey(tokens, "kept")) == StoreEntry(value: Data("v".utf8), version: 1)
                )
                try await store.commit(StoreBatch(auditEvents: [Self.event("after")]))
                let records = try await store.auditRecords(after: 0, limit: 10)
                #expect(records.map(\.event.requestID) == ["before", "after"])
                #expect(AuditChain.verify(records, startingAfter: AuditChain.genesisHash, previousSequence: 0) == nil)
            }
        }
    }

    @Test("a store with a newer schema is refused", arguments: StoreKind.available)
    func newerSchemaRefused(kind: StoreKind) async throws {
        try await StoreFixture.withFixture(kind) { fixture in
            try await fixture.withStore { _ in }
            try await fixture.recordSchemaVersion(999)
            let error = await #expect(throws: LeaseholdError.self) { try await fixture.withStore { _ in } }
            #expect(error?.code == .storeUnavailable)
            let supported = try #require(try StoreMigrations.load(dialect: kind == .sqlite ? .sqlite : .postgres).last).version
            #expect(error?.message == "store schema version 999 is newer than this broker supports (\(supported))")
        }
    }

    @Test(
        "a PostgreSQL statement stuck behind a lock times out",
        .enabled(if: TestEnvironment.postgresURL != nil)
    )
    func postgresStatementTimeout() async throws {
        try await StoreFixture.withFixture(.postgres) { fixture in
            let database = try #require(fixture.database)
            try await fixture.withStore(statementTimeout: .seconds(1)) { store in
                let started = ContinuousClock.now
                try await database.whileHolding("SELECT 1 FROM audit_head FOR UPDATE") {
                    await #expect(throws: LeaseholdError(.storeUnavailable, "")) {
                        try await store.commit(StoreBatch(auditEvents: [Self.event("blocked")]))
                    }
                }
                #expect(ContinuousClock.now - started < .seconds(10))
                try await store.commit(StoreBatch(auditEvents: [Self.event("unblocked")]))
                #expect(try await store.auditRecords(after: 0, limit: 10).map(\.event.requestID) == ["unblocked"])
            }
        }
    }

    @Test("the SQLite directory is 0700 and its files 0600")
    func sqlitePermissions() async throws {
        try await StoreFixture.withFixture(.sqlite) { fixture in
            try await fixture.withStore { store in
                try await store.commit(StoreBatch(operations: [.put(StoreKey(tokens, "p"), Data(), .none)]))
                let directory = (fixture.address as NSString).deletingLastPathComponent
                #expect(try Self.permissions(of: directory) == 0o700)
                for suffix in ["", "-wal", "-shm"] {
                    #expect(try Self.permissions(of: fixture.address + suffix) == 0o600, "\(suffix)")
                }
            }
        }
    }

    static func permissions(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    static func event(
        _ requestID: String,
        time: Date = Date(),
        errorClass: String? = nil,
        details: [String: String] = [:]
    ) -> AuditEvent {
        AuditEvent(
            time: time,
            requestID: requestID,
            type: "request",
            operation: "update",
            path: "database/creds/readonly",
            actor: AuditActor(
                accessor: "acc-\(requestID)",
                tokenHMAC: "hmac-sha256:00ff",
                displayName: "token-ci",
                policies: ["default", "db-ro"],
                authMethod: "token"
            ),
            remoteAddress: "10.0.0.7",
            outcome: errorClass == nil ? "allowed" : "denied",
            errorClass: errorClass,
            environment: "test",
            details: details
        )
    }
}

/// Direct changes to the audit table, as someone with write access to the store could make them.
enum AuditTampering: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case altered, deleted, reordered, truncated, rewritten

    var testDescription: String { rawValue }
}

@Suite("Audit tampering is located by the chain verifier and signed checkpoints")
struct AuditTamperingTests {
    @Test(arguments: StoreKind.available, AuditTampering.allCases)
    func tamperingIsReportedAtTheRightRow(kind: StoreKind, tampering: AuditTampering) async throws {
        try await StoreFixture.withStore(kind) { store, fixture in
            try await store.commit(StoreBatch(auditEvents: (1...10).map { StoreConformanceTests.event("t\($0)") }))
            let key = Curve25519.Signing.PrivateKey()
            let firstTen = try await store.auditRecords(after: 0, limit: 100)
            let checkpoint = try AuditCheckpoint.sign(sequence: 10, hash: firstTen[9].hash, time: Date(), key: key)
            var checkpointEvent = StoreConformanceTests.event("checkpoint")
            checkpointEvent.type = AuditCheckpoint.eventType
            checkpointEvent.details = checkpoint.details
            try await store.commit(StoreBatch(auditEvents: [checkpointEvent]))
            try await store.commit(StoreBatch(auditEvents: (12...14).map { StoreConformanceTests.event("t\($0)") }))
            let original = try await store.auditRecords(after: 0, limit: 100)

            let expected: AuditChainBreak
            switch tampering {
            case .altered:
                try await Self.execute("UPDATE audit_log SET display_name = 'mallory' WHERE sequence = 5", fixture)
                expected = AuditChainBreak(sequence: 5, kind: .altered)
            case .deleted:
                try await Self.execute("DELETE FROM audit_log WHERE sequence = 5", fixture)
                expected = AuditChainBreak(sequence: 5, kind: .deleted)
            case .reordered:
                try await Self.execute("UPDATE audit_log SET sequence = 1000 WHERE sequence = 5", fixture)
                try await Self.execute("UPDATE audit_log SET sequence = 5 WHERE sequence = 6", fixture)
                try await Self.execute("UPDATE audit_log SET sequence = 6 WHERE sequence = 1000", fixture)
                expected = AuditChainBreak(sequence: 5, kind: .reordered)
            case .truncated:
                try await Self.execute("DELETE FROM audit_log WHERE sequence >= 9", fixture)
                expected = AuditChainBreak(sequence: 9, kind: .truncated)
            case .rewritten:
                // Change row 3 and re-hash everything after it: a consistent chain, but not the signed one.
                var events = original.map(\.event)
                events[2].actor.displayName = "mallory"
                let relinked = try AuditChain.link(Array(events[2...]), after: AuditChainHead(sequence: 2, hash: original[1].hash))
                for record in relinked {
                    try await Self.execute(
                        "UPDATE audit_log SET display_name = '\(record.event.actor.displayName)', previous_hash = \(Self.blob(record.previousHash, kind)), hash = \(Self.blob(record.hash, kind)) WHERE sequence = \(record.sequence)",
                        fixture)
                }
                expected = AuditChainBreak(sequence: 10, kind: .rewritten)
            }
            var verifier = AuditChainVerifier(trustedKey: key.publicKey.rawRepresentation.hexString, reaching: checkpoint)
            verifier.consume(try await store.auditRecords(after: 0, limit: 100))
            verifier.finish()
            #expect(verifier.failure == expected)
        }
    }

    @Test func anUntamperedChainWithCheckpointsVerifiesAndAForgedCheckpointDoesNot() throws {
        let key = Curve25519.Signing.PrivateKey()
        let records = try AuditChain.link((1...5).map { StoreConformanceTests.event("v\($0)") }, after: .genesis)
        let good = try AuditCheckpoint.sign(sequence: 5, hash: records[4].hash, time: Date(), key: key)
        let forged = try AuditCheckpoint.sign(sequence: 5, hash: records[4].hash, time: Date(), key: Curve25519.Signing.PrivateKey())
        for (checkpoint, intact) in [(good, true), (forged, false)] {
            var event = StoreConformanceTests.event("checkpoint")
            event.type = AuditCheckpoint.eventType
            event.details = checkpoint.details
            let chain = records + (try AuditChain.link([event], after: AuditChainHead(sequence: 5, hash: records[4].hash)))
            var verifier = AuditChainVerifier(trustedKey: key.publicKey.rawRepresentation.hexString, reaching: good)
            verifier.consume(chain)
            verifier.finish()
            #expect((verifier.failure == nil) == intact)
            if intact { #expect(verifier.checkpointCount == 1 && verifier.recordCount == 6) }
        }
    }

    /// The known checkpoint's record is compared whatever the verifier's window: before, a checkpoint more than a
    /// window behind the head was not compared at all.
    @Test func aKnownCheckpointFarBehindTheHeadIsStillCompared() throws {
        let key = Curve25519.Signing.PrivateKey()
        var events = (1...40).map { StoreConformanceTests.event("v\($0)") }
        let genuine = try AuditChain.link(events, after: .genesis)
        let known = try AuditCheckpoint.sign(sequence: 5, hash: genuine[4].hash, time: Date(), key: key)
        events[2].actor.displayName = "mallory"
        let rewritten = try AuditChain.link(events, after: .genesis)
        var verifier = AuditChainVerifier(trustedKey: key.publicKey.rawRepresentation.hexString, reaching: known, window: 10)
        verifier.consume(rewritten)
        #expect(verifier.finish() == AuditChainBreak(sequence: 5, kind: .rewritten))
    }

    static func execute(_ sql: String, _ fixture: StoreFixture) async throws {
        switch fixture.kind {
        case .sqlite: try StoreSQLiteAdministration.execute(sql, inDatabaseAt: fixture.address)
        case .postgres: try await fixture.database?.execute(sql)
        }
    }

    static func blob(_ data: Data, _ kind: StoreKind) -> String {
        kind == .sqlite ? "X'\(data.hexString)'" : "decode('\(data.hexString)', 'hex')"
    }
}
