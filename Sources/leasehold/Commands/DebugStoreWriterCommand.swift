import ArgumentParser
import Foundation
import LeaseholdCore
import LeaseholdStorePostgres
import LeaseholdStoreSQLite
import Logging

/// Hidden test helper: commits batches concurrently, forever, and prints `ack <key>` once each commit has returned.
///
/// The durability test kills this process with SIGKILL at a random moment and then checks that every acknowledged key
/// (and its audit record) survived.
struct DebugStoreWriterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-store-writer",
        abstract: "Write to a store until killed, acknowledging each durable commit (for tests).",
        shouldDisplay: false
    )

    /// The namespace the writer fills.
    static let namespace = StoreNamespace(rawValue: "debug-writer")

    @Option(help: "Path of the SQLite store to write to.")
    var sqlite: String?

    @Option(help: "postgres:// URL of the PostgreSQL store to write to.")
    var postgres: String?

    @Option(help: "Number of concurrent writers.")
    var concurrency: Int = 8

    func validate() throws {
        guard (sqlite == nil) != (postgres == nil) else {
            throw ValidationError("Pass exactly one of --sqlite or --postgres.")
        }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1.") }
    }

    func run() async throws {
        let logger = Logger(label: "leasehold.debug-store-writer")
        let runID = UUID().uuidString.prefix(8).lowercased()
        if let sqlite {
            let store = try await SQLiteBrokerStore(path: sqlite, logger: logger)
            try await write(to: store, runID: runID)
        } else if let postgres {
            let store = try PostgresBrokerStore(url: postgres, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.run() }
                try await store.migrate()
                try await write(to: store, runID: runID)
            }
        }
    }

    /// Commits one entry and one audit event per batch from `concurrency` tasks until the process is killed.
    private func write(to store: some BrokerStore, runID: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for counter in 0... {
                        let key = "\(runID)-\(worker)-\(counter)"
                        let event = AuditEvent(
                            time: Date(),
                            requestID: key,
                            type: "debug.write",
                            operation: "update",
                            path: "debug/\(key)",
                            actor: .anonymous,
                            remoteAddress: "127.0.0.1",
                            outcome: "allowed",
                            details: ["key": key]
                        )
                        try await store.commit(
                            StoreBatch(
                                operations: [.put(StoreKey(Self.namespace, key), Data(key.utf8), .absent)],
                                auditEvents: [event]
                            )
                        )
                        print("ack \(key)")
                        fflush(nil)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
