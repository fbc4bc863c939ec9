import Foundation
import LeaseholdCore
import PostgresNIO
import Testing

@testable import LeaseholdEnginePostgres

@Suite("PostgreSQL engine: create, renew, list, revoke", .enabled(if: postgresAvailable), .serialized)
struct EngineLifecycleTests {
    @Test func createdUserLogsInReadsButCannotWriteAndIsMarked() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                try await engine.verifyConnection()
                let username = try fixture.username()
                let leaseID = "database/creds/readonly/\(UUID().uuidString)"
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: username, password: testPassword, expiration: Date().addingTimeInterval(3600),
                        creationStatements: readerTemplate(fixture), leaseID: leaseID
                    )
                )
                let count = try await fixture.withConnection(as: username.rawValue, password: testPassword.revealed) { connection in
                    var count = 0
                    for try await value in try await connection.query("SELECT count(*)::int FROM items", logger: fixture.logger).decode(Int.self) {
                        count = value
                    }
                    await #expect(throws: PSQLError.self) {
                        try await connection.query("INSERT INTO items VALUES (3, 'three')", logger: fixture.logger)
                    }
                    return count
                }
                #expect(count == 2)
                let managed = try await engine.managedUsers()
                #expect(managed.contains(ManagedDatabaseUser(username: username.rawValue, leaseID: leaseID)))
                let isMember = try await fixture.scalar(
                    "SELECT pg_has_role(\(username.rawValue), \(fixture.bookkeepingRole), 'MEMBER')", as: Bool.self
                )
                #expect(isMember == true)
                #expect(try await engine.revokeUser(username, statements: []) == .dropped)
            }
        }
    }

    @Test func scramModeStoresOnlyTheVerifierAndLoginWorks() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine(try fixture.configuration(.scramSHA256)) { engine in
                let username = try fixture.username("scram")
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: username, password: testPassword, expiration: Date().addingTimeInterval(3600),
                        creationStatements: readerTemplate(fixture), leaseID: "lease-scram"
                    )
                )
                let stored = try await fixture.scalar(
                    "SELECT rolpassword FROM pg_authid WHERE rolname = \(username.rawValue)", as: String.self
                )
                #expect(stored?.hasPrefix("SCRAM-SHA-256$4096:") == true)
                let one = try await fixture.withConnection(as: username.rawValue, password: testPassword.revealed) { connection in
                    var one = 0
                    for try await value in try await connection.query("SELECT 1", logger: fixture.logger).decode(Int.self) { one = value }
                    return one
                }
                #expect(one == 1)
                _ = try await engine.revokeUser(username, statements: [])
            }
        }
    }

    @Test func renewMovesValidUntil() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let username = try fixture.username("renew")
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: username, password: testPassword, expiration: Date(timeIntervalSince1970: 2_000_000_000),
                        creationStatements: readerTemplate(fixture), leaseID: "lease-renew"
                    )
                )
                let validUntil: PostgresQuery =
                    "SELECT extract(epoch FROM rolvaliduntil)::bigint FROM pg_roles WHERE rolname = \(username.rawValue)"
                #expect(try await fixture.scalar(validUntil, as: Int64.self) == 2_000_000_000)
                try await engine.renewUser(username, until: Date(timeIntervalSince1970: 2_000_003_600), statements: [])
                #expect(try await fixture.scalar(validUntil, as: Int64.self) == 2_000_003_600)
                try await engine.renewUser(
                    username, until: Date(timeIntervalSince1970: 2_000_007_200),
                    statements: ["ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}'"]
                )
                #expect(try await fixture.scalar(validUntil, as: Int64.self) == 2_000_007_200)
                _ = try await engine.revokeUser(username, statements: [])
            }
        }
    }

    @Test func revokeEndsSessionsReassignsObjectsAndDropsTheRole() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let username = try fixture.username("revoke")
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: username, password: testPassword, expiration: Date().addingTimeInterval(3600),
                        creationStatements: readerTemplate(fixture) + [
                            "GRANT CREATE ON SCHEMA public TO \"{{name}}\"",
                            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\"",
                        ],
                        leaseID: "lease-revoke"
                    )
                )
                try await fixture.withConnection(as: username.rawValue, password: testPassword.revealed) { session in
                    try await session.query("CREATE TABLE owned_by_user (id int)", logger: fixture.logger)
                    #expect(try await engine.revokeUser(username, statements: []) == .dropped)
                    FileHandle.standardError.write(Data("DEBUG revoked\n".utf8))
                    let sessions = try await fixture.scalar(
                        "SELECT count(*)::int FROM pg_stat_activity WHERE usename = \(username.rawValue)", as: Int.self
                    )
                    #expect(sessions == 0)
                    FileHandle.standardError.write(Data("DEBUG counted\n".utf8))
                    await #expect(throws: (any Error).self) {
                        try await session.query("SELECT 1", logger: fixture.logger)
                    }
                    FileHandle.standardError.write(Data("DEBUG queried\n".utf8))
                }
                FileHandle.standardError.write(Data("DEBUG closed\n".utf8))
                #expect(try await fixture.roleExists(username.rawValue) == false)
                let owner = try await fixture.scalar(
                    "SELECT tableowner::text FROM pg_tables WHERE tablename = 'owned_by_user'", as: String.self
                )
                #expect(owner == (try fixture.configuration().effectiveHeirRole))
                #expect(try await engine.revokeUser(username, statements: []) == .alreadyAbsent)
            }
        }
    }

    @Test func customRevocationStatementsRunAfterSessionsEnd() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let username = try fixture.username("custom")
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: username, password: testPassword, expiration: Date().addingTimeInterval(3600),
                        creationStatements: readerTemplate(fixture), leaseID: "lease-custom"
                    )
                )
                let outcome = try await engine.revokeUser(
                    username, statements: ["REVOKE CONNECT ON DATABASE \"{{database}}\" FROM \"{{name}}\"; DROP ROLE \"{{name}}\";"]
                )
                #expect(outcome == .dropped)
                #expect(try await fixture.roleExists(username.rawValue) == false)
            }
        }
    }

    @Test func refusesToRevokeUnmanagedRoles() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                await #expect(throws: LeaseholdError.invalidRequest("")) {
                    _ = try await engine.revokeUser(try DatabaseUsername(fixture.readersRole), statements: [])
                }
                let stillExists = try await fixture.roleExists(fixture.readersRole)
                #expect(stillExists)
            }
        }
    }
}
