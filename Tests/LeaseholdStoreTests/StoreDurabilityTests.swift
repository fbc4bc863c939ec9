import Foundation
import LeaseholdAuditChain
import LeaseholdCore
import LeaseholdStorePostgres
import LeaseholdStoreSQLite
import Logging
import LeaseholdTestSupport
import Synchronization
import Testing

/// Kills a writer process with SIGKILL mid-stream and checks that every write it acknowledged survived.
@Suite("BrokerStore durability", .serialized)
struct StoreDurabilityTests {
    /// `<package root>/.build/debug/leasehold`, built by `swift build`.
    static let binary: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/leasehold")

    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }

    static let namespace = StoreNamespace(rawValue: "debug-writer")

    @Test(
        "acknowledged writes survive SIGKILL (20 kills)",
        .enabled(if: binaryExists, "build the leasehold executable first (swift build)"),
        arguments: StoreKind.available
    )
    func acknowledgedWritesSurviveKill(kind: StoreKind) async throws {
        try await StoreFixture.withFixture(kind) { fixture in
            var acknowledged: [String] = []
            for round in 0..<20 {
                let keys = try await Self.runWriterUntilKilled(
                    kind: kind,
                    address: fixture.address,
                    killAfter: 1 + (round * 37) % 150
                )
                #expect(!keys.isEmpty, "round \(round): the writer acknowledged nothing")
                acknowledged += keys
                try await fixture.withStore { store in
                    let present = Set(try await store.allKeys(in: Self.namespace))
                    let lost = keys.filter { !present.contains($0) }
                    #expect(lost.isEmpty, "round \(round): \(lost.count) acknowledged writes lost")
                }
            }
            try await fixture.withStore { store in
                let present = Set(try await store.allKeys(in: Self.namespace))
                #expect(Set(acknowledged).isSubset(of: present))
                var records: [AuditRecord] = []
                while true {
                    let page = try await store.auditRecords(after: records.last?.sequence ?? 0, limit: 1000)
                    if page.isEmpty { break }
                    records += page
                }
                #expect(records.count == present.count)
                #expect(AuditChain.verify(records, startingAfter: AuditChain.genesisHash, previousSequence: 0) == nil)
            }
        }
    }

    /// GRDB switches its writer to `synchronous = NORMAL` with WAL, which survives a process kill (the test above)
    /// but not a power loss: the store must fsync every commit. And the savepoint journal of each batch in a group
    /// commit stays in memory: a temporary file would cost two writes per changed page and leave copies of store
    /// pages (audit rows are plaintext) under /var/tmp.
    @Test func theSQLiteWriterSyncsEveryCommitAndKeepsSavepointJournalsInMemory() async throws {
        let store = try await SQLiteBrokerStore.temporary(logger: Logger(label: "test"))
        let settings = try await store.writerSettings()
        try await store.close()
        #expect(settings.synchronous == 2)
        #expect(settings.temporaryStore == 2)
    }

    /// A database whose default is `synchronous_commit = off` would acknowledge commits before they are flushed.
    @Test(.enabled(if: StoreKind.available.contains(.postgres), "needs LEASEHOLD_TEST_POSTGRES_URL"))
    func thePostgresStoreCommitsSynchronouslyWhateverTheDefault() async throws {
        try await StoreFixture.withFixture(.postgres) { fixture in
            let database = try #require(fixture.database)
            try await database.execute("ALTER DATABASE \"\(database.name)\" SET synchronous_commit = off")
            let setting = try await fixture.withStore { store in
                try await (store as! PostgresBrokerStore).synchronousCommitSetting()
            }
            #expect(setting == "on")
        }
    }

    /// Starts the writer, kills it with SIGKILL after `killAfter` acknowledgements, and returns the acknowledged keys.
    static func runWriterUntilKilled(kind: StoreKind, address: String, killAfter: Int) async throws -> [String] {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["debug-store-writer", kind == .sqlite ? "--sqlite" : "--postgres", address]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = output.fileHandleForReading
        let text = await Task.detached { () -> String in
            var data = Data()
            var killed = false
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
                if !killed, data.reduce(0, { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }) >= killAfter {
                    kill(process.processIdentifier, SIGKILL)
                    killed = true
                }
            }
            if !killed { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }.value
        #expect(process.terminationReason == .uncaughtSignal)
        // Only complete lines count: a line cut off by the kill was not fully acknowledged.
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .filter { $0.hasPrefix("ack ") }.map { String($0.dropFirst(4)) }
    }
}

/// Point reads run on the calling thread and scans on their own queue; neither may ever wait on the other (GRDB's
/// asynchronous reads, mixed with blocking ones, deadlocked the suite once).
@Suite("SQLite store under mixed concurrent load")
struct SQLiteConcurrencyTests {
    @Test func pointReadsScansAndCommitsAllFinish() async throws {
        let store = try await SQLiteBrokerStore.temporary(logger: Logger(label: "test"))
        let namespace = StoreNamespace(rawValue: "mixed")
        let actor = AuditActor(displayName: "test")
        // A deadlock would block every thread of the concurrency pool, where a deadline's timer runs too: the
        // watchdog is a dispatch timer that ends the process with a message instead of letting the suite hang.
        let done = Mutex(false)
        // Disarmed however the test ends, so a failure here cannot end the process during a later test.
        defer { done.withLock { $0 = true } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120) {
            guard !done.withLock({ $0 }) else { return }
            FileHandle.standardError.write(Data("pointReadsScansAndCommitsAllFinish: the SQLite store deadlocked\n".utf8))
            exit(1)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for index in 0..<50 {
                        let key = StoreKey(namespace, "w\(writer)-\(index)")
                        let event = AuditEvent(
                            time: Date(), requestID: "", type: "request", operation: "update", path: key.key, actor: actor,
                            remoteAddress: "", outcome: "allowed")
                        try await store.commit(StoreBatch(operations: [.put(key, Data([1]), .none)], auditEvents: [event]))
                    }
                }
            }
            for reader in 0..<16 {
                group.addTask {
                    for index in 0..<200 { _ = try await store.entry(StoreKey(namespace, "w\(reader % 4)-\(index % 50)")) }
                }
            }
            for _ in 0..<6 {
                group.addTask {
                    var query = AuditQuery()
                    query.details = ["absent": "x"]  // no index: scans every row
                    for _ in 0..<30 {
                        _ = try await store.keys(in: namespace, prefix: "", after: nil, limit: 1000)
                        _ = try await store.auditRecords(matching: query, limit: 10)
                        _ = try await store.auditRecords(after: 0, limit: 50)  // by sequence: read in place
                    }
                }
            }
            try await group.waitForAll()
        }
        // Every acknowledged write is there afterwards.
        #expect(try await store.keys(in: namespace, prefix: "", after: nil, limit: 1000).count == 4 * 50)
        try await store.close()
    }
}
