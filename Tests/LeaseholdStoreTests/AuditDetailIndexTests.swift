import Foundation
import LeaseholdAuditChain
import LeaseholdCore
import LeaseholdTestSupport
import Testing

@testable import LeaseholdStorePostgres
@testable import LeaseholdStoreSQLite

/// The auditors' lookups by lease id and by database user read an index, not the whole audit table (schema version
/// 2), on 20,000 rows with planner statistics; a detail without an index is still answered. Each store is taken back
/// to version 1, as the previous release wrote it, and gains the indexes when opened again.
@Suite("Audit lookups by lease and database user use their index")
struct AuditDetailIndexTests {
    /// Each indexed detail with the index that must serve it.
    static let lookups: [(detail: String, value: String, index: String)] = [
        ("lease_id", "database/creds/r/777", "audit_log_lease_id"),
        ("db_username", "v-777", "audit_log_db_username"),
    ]
    static let rows = 20_000
    /// Takes a store back to schema version 1.
    static let downgrade = [
        "DROP INDEX audit_log_lease_id", "DROP INDEX audit_log_db_username",
        "DELETE FROM schema_migrations WHERE version = 2",
    ]

    static func query(_ detail: String, _ value: String) -> AuditQuery {
        var query = AuditQuery()
        query.details = [detail: value]
        query.types = ["lease.*"]
        return query
    }

    /// Each lookup finds its one row, and an unindexed detail still finds its rows.
    static func expectFound(in store: any BrokerStore) async throws {
        for lookup in lookups {
            let found = try await store.auditRecords(matching: query(lookup.detail, lookup.value), limit: 100)
            #expect(found.map(\.sequence) == [777])
        }
        let unindexed = try await store.auditRecords(matching: query("role", "r"), limit: 3)
        #expect(unindexed.map(\.sequence) == [1, 2, 3])
    }

    @Test func sqlite() async throws {
        try await StoreFixture.withFixture(.sqlite) { fixture in
            try await fixture.withStore { _ in }
            for statement in Self.downgrade { try StoreSQLiteAdministration.execute(statement, inDatabaseAt: fixture.address) }
            try await fixture.withStore { store in
                try StoreSQLiteAdministration.execute(
                    """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(Self.rows))
                    INSERT INTO audit_log SELECT i, '2026-11-29T00:00:00.000000Z', 'r', 'lease.issue', 'read', 'p', 'a',
                        't', 'd', '[]', 'token', '127.0.0.1', 'success', NULL, 'dev',
                        json_object('lease_id', 'database/creds/r/' || i, 'db_username', 'v-' || i, 'role', 'r'),
                        zeroblob(32), zeroblob(32) FROM n;
                    ANALYZE;
                    """, inDatabaseAt: fixture.address)
                for lookup in Self.lookups {
                    let (sql, arguments) = SQLiteBrokerStore.auditSelection(
                        AuditPredicate.conditions(for: Self.query(lookup.detail, lookup.value)), newestFirst: false, limit: 100)
                    let plan = try StoreSQLiteAdministration.queryPlan(sql, arguments: arguments, inDatabaseAt: fixture.address)
                    #expect(plan.contains { $0.contains("USING INDEX \(lookup.index)") }, "\(plan)")
                }
                try await Self.expectFound(in: store)
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.postgresURL != nil))
    func postgres() async throws {
        try await StoreFixture.withFixture(.postgres) { fixture in
            let database = try await Self.postgresAtVersionOne(fixture, rows: Self.rows)
            try await fixture.withStore { store in
                try await database.execute("ANALYZE audit_log")
                for lookup in Self.lookups {
                    let statement = PostgresBrokerStore.auditSelection(Self.query(lookup.detail, lookup.value), limit: 100)
                    let plan = try await database.queryPlan(statement)
                    #expect(plan.contains { $0.contains(lookup.index) }, "\(plan)")
                }
                try await Self.expectFound(in: store)
            }
        }
    }

    @Test("a migration is not cut short by the store's statement_timeout", .enabled(if: TestEnvironment.postgresURL != nil))
    func postgresMigrationOutlivesStatementTimeout() async throws {
        try await StoreFixture.withFixture(.postgres) { fixture in
            let database = try await Self.postgresAtVersionOne(fixture, rows: 300_000)
            // Building the two indexes over 300,000 rows takes far longer than 100 ms.
            try await fixture.withStore(statementTimeout: .milliseconds(100)) { _ in }
            let indexes = try await database.integer(
                "SELECT count(*)::bigint FROM pg_indexes WHERE indexname IN ('audit_log_lease_id', 'audit_log_db_username')")
            #expect(indexes == 2)
        }
    }

    /// Creates the PostgreSQL store, takes it back to schema version 1 and fills its audit table with `rows` rows
    /// (row `i` has lease id `database/creds/r/i`, user `v-i`, role `r`); returns its database.
    static func postgresAtVersionOne(_ fixture: StoreFixture, rows: Int) async throws -> StoreTestDatabase {
        let database = try #require(fixture.database)
        try await fixture.withStore { _ in }
        for statement in downgrade { try await database.execute(statement) }
        try await database.execute(
            """
            INSERT INTO audit_log SELECT i, now(), 'r', 'lease.issue', 'read', 'p', 'a', 't', 'd', '[]', 'token',
                '127.0.0.1', 'success', NULL, 'dev',
                jsonb_build_object('lease_id', 'database/creds/r/' || i, 'db_username', 'v-' || i, 'role', 'r'),
                decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex')
            FROM generate_series(1, \(rows)) AS i
            """)
        return database
    }
}
