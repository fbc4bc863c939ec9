import Foundation
import LeaseholdCore
import LeaseholdStorePostgres
import Logging
import Testing

/// A PostgreSQL store whose server does not answer (nothing listens on the port): PostgresNIO's pool retries without
/// end, and every call must still fail within its deadline as `storeUnavailable`, and a cancelled caller at once
/// (without the deadlines the calls would hang: the time limit turns that into a failure).
/// Needs no database.
@Suite("PostgreSQL store with its server down", .timeLimit(.minutes(1)))
struct PostgresStoreOutageTests {
    /// Runs `body` with a store on a port where nothing listens: reads give up after `operationTimeout`, commits
    /// after that plus twice the 1 s statement timeout.
    static func withUnreachableStore(
        operationTimeout: Duration = .seconds(1), _ body: (PostgresBrokerStore) async throws -> Void
    ) async throws {
        let store = try PostgresBrokerStore(
            url: "postgres://leasehold@127.0.0.1:1/broker?sslmode=disable", statementTimeout: .seconds(1),
            operationTimeout: operationTimeout, logger: Logger(label: "leasehold.test.outage"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            try await body(store)
        }
    }

    /// `call` fails as `storeUnavailable` with `message` within `bound`.
    static func expectUnavailable(
        _ message: String, within bound: Duration, _ call: () async throws -> Void
    ) async {
        let started = ContinuousClock.now
        let error = await #expect(throws: LeaseholdError.self) { try await call() }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
        #expect(ContinuousClock.now - started < bound)
    }

    @Test func everyCallFailsWithinItsDeadline() async throws {
        try await Self.withUnreachableStore { store in
            let key = StoreKey(StoreNamespace(rawValue: "outage"), "k")
            await Self.expectUnavailable("cannot read from the PostgreSQL store", within: .seconds(8)) {
                _ = try await store.entry(key)
            }
            await Self.expectUnavailable("cannot read from the PostgreSQL store", within: .seconds(8)) {
                _ = try await store.keys(in: key.namespace, prefix: "", after: nil, limit: 10)
            }
            await Self.expectUnavailable("cannot commit to the PostgreSQL store", within: .seconds(12)) {
                try await store.commit(StoreBatch(operations: [.put(key, Data("v".utf8), .none)]))
            }
            await Self.expectUnavailable("cannot delete audit records from the PostgreSQL store", within: .seconds(8)) {
                try await store.deleteAuditRecords(through: 1)
            }
            await Self.expectUnavailable("cannot migrate the PostgreSQL store", within: .seconds(8)) {
                try await store.migrate()
            }
        }
    }

    @Test func aCancelledReadReturnsAtOnce() async throws {
        try await Self.withUnreachableStore(operationTimeout: .seconds(60)) { store in
            let read = Task { _ = try await store.entry(StoreKey(StoreNamespace(rawValue: "outage"), "k")) }
            try await Task.sleep(for: .milliseconds(100))
            let started = ContinuousClock.now
            read.cancel()
            await #expect(throws: CancellationError.self) { try await read.value }
            // Long before the 60 s deadline would have answered (loose: two shared cores run the whole suite).
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }
}
