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
                let outcome = try await engine.revokeUser(username, statements: [])
                #expect(outcome == .dropped, "\(outcome)")
            }
        }
    }

    /// A transaction's statements run from its connection's event loop (``EventLoopTaskExecutor``): every reply
    /// resumes the task where it arrived, with no hand-off to another thread and back.
    @Test func transactionsRunOnTheirConnectionsEventLoop() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let onLoop = try await engine.inTransaction { connection in
                    var answers: [Bool] = [connection.eventLoop.inEventLoop]
                    for _ in 0..<3 {
                        try await connection.query("SELECT 1", logger: fixture.logger)
                        answers.append(connection.eventLoop.inEventLoop)
                    }
                    return answers
                }
                #expect(onLoop == [true, true, true, true])
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
                        creationStatements: objectOwningTemplate(fixture),
                        leaseID: "lease-revoke"
                    )
                )
                // The user's session runs in another process (psql), as an application's would.
                let session = try fixture.startSession(
                    as: username.rawValue, password: testPassword.revealed,
                    statements: ["CREATE TABLE owned_by_user (id int)", "SELECT pg_sleep(60)"]
                )
                defer { if session.isRunning { session.terminate() } }
                try await fixture.waitForSession(of: username.rawValue, running: "pg_sleep")
                #expect(try await engine.revokeUser(username, statements: []) == .dropped)
                let clock = ContinuousClock()
                let revoked = clock.now
                while session.isRunning, clock.now - revoked < .seconds(5) { try await Task.sleep(for: .milliseconds(20)) }
                #expect(!session.isRunning)
                #expect(session.isRunning || session.terminationStatus != 0)
                #expect(try await fixture.roleExists(username.rawValue) == false)
                let owner = try await fixture.scalar(
                    "SELECT tableowner::text FROM pg_tables WHERE tablename = 'owned_by_user'", as: String.self
                )
                #expect(owner == (try fixture.configuration().effectiveHeirRole))
                #expect(try await engine.revokeUser(username, statements: []) == .alreadyAbsent)
            }
        }
    }

    @Test func createRoleAdminCanRevokeUsersThatOwnObjects() async throws {
        try await TargetFixture.with { fixture in
            let configuration = try await fixture.createRoleAdminConfiguration()
            try await fixture.withEngine(configuration) { engine in
                try await engine.verifyConnection()
                let username = try fixture.username("nonsuper")
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: username, password: testPassword, expiration: Date().addingTimeInterval(3600),
                        creationStatements: readerTemplate(fixture) + ["GRANT CREATE ON SCHEMA public TO \"{{name}}\""],
                        leaseID: "lease-nonsuper"
                    )
                )
                let session = try fixture.startSession(
                    as: username.rawValue, password: testPassword.revealed, statements: ["CREATE TABLE made_by_user (id int)"]
                )
                session.waitUntilExit()
                #expect(session.terminationStatus == 0)
                #expect(try await engine.revokeUser(username, statements: []) == .dropped)
                let owner = try await fixture.scalar(
                    "SELECT tableowner::text FROM pg_tables WHERE tablename = 'made_by_user'", as: String.self
                )
                #expect(owner == fixture.roleAdmin)
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

    /// Concurrent default revocations are dropped together; objects are reassigned, live sessions end, and an
    /// unmanaged role in the same burst sends the batch down the individual path, where only it is refused.
    @Test func concurrentRevocationsAreBatchedAndStillCorrect() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                var usernames: [DatabaseUsername] = []
                for index in 0..<24 {
                    let username = try fixture.username("batch\(index)")
                    try await engine.createUser(
                        DatabaseUserRequest(
                            username: username, password: testPassword, expiration: Date().addingTimeInterval(3600),
                            creationStatements: objectOwningTemplate(fixture),
                            leaseID: "lease-batch-\(index)"))
                    usernames.append(username)
                }
                let owner = try fixture.startSession(
                    as: usernames[0].rawValue, password: testPassword.revealed, statements: ["CREATE TABLE batch_owned (id int)"])
                owner.waitUntilExit()
                let sleeper = try fixture.startSession(
                    as: usernames[1].rawValue, password: testPassword.revealed, statements: ["SELECT pg_sleep(60)"])
                defer { if sleeper.isRunning { sleeper.terminate() } }
                try await fixture.waitForSession(of: usernames[1].rawValue, running: "pg_sleep")
                let outcomes = try await withThrowingTaskGroup(of: RevocationOutcome.self) { group in
                    for username in usernames { group.addTask { try await engine.revokeUser(username, statements: []) } }
                    var outcomes: [RevocationOutcome] = []
                    for try await outcome in group { outcomes.append(outcome) }
                    return outcomes
                }
                #expect(outcomes == Array(repeating: .dropped, count: usernames.count))
                // The live session of a batch member was ended (PostgreSQL would drop the role under it anyway).
                let clock = ContinuousClock()
                let revoked = clock.now
                while sleeper.isRunning, clock.now - revoked < .seconds(5) { try await Task.sleep(for: .milliseconds(20)) }
                #expect(!sleeper.isRunning)
                #expect(sleeper.isRunning || sleeper.terminationStatus != 0)
                // Most of the burst went through the batch path (the first arrival may lead alone).
                #expect(engine.usersDroppedInBatches.load(ordering: .relaxed) >= usernames.count / 2)
                for username in usernames { #expect(try await fixture.roleExists(username.rawValue) == false) }
                let heir = try await fixture.scalar("SELECT tableowner::text FROM pg_tables WHERE tablename = 'batch_owned'", as: String.self)
                #expect(heir == (try fixture.configuration().effectiveHeirRole))

                // A burst with one unmanaged role: the others are dropped, that one is refused and kept.
                var more: [DatabaseUsername] = []
                for index in 0..<6 {
                    let username = try fixture.username("mixed\(index)")
                    try await engine.createUser(
                        DatabaseUserRequest(
                            username: username, password: testPassword, expiration: Date().addingTimeInterval(3600),
                            creationStatements: readerTemplate(fixture), leaseID: "lease-mixed-\(index)"))
                    more.append(username)
                }
                let unmanaged = try DatabaseUsername(fixture.readersRole)
                let results = await withTaskGroup(of: (String, String).self) { group in
                    for username in more + [unmanaged] {
                        group.addTask {
                            do {
                                return (username.rawValue, "\(try await engine.revokeUser(username, statements: []))")
                            } catch {
                                return (username.rawValue, "\((error as? LeaseholdError)?.code ?? .internalError)")
                            }
                        }
                    }
                    var results: [String: String] = [:]
                    for await (name, result) in group { results[name] = result }
                    return results
                }
                // Refused as unmanaged, not failed for another reason.
                #expect(results[unmanaged.rawValue] == "\(LeaseholdError.Code.invalidRequest)")
                for username in more { #expect(results[username.rawValue] == "\(RevocationOutcome.dropped)") }
                #expect(try await fixture.roleExists(fixture.readersRole))
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
