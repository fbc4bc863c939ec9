import Foundation
import LeaseholdCore
import PostgresNIO
import Synchronization
import Testing

@testable import LeaseholdEnginePostgres

@Suite("PostgreSQL engine: injection, rollback, timeouts, concurrency", .enabled(if: postgresAvailable), .serialized)
struct EngineSafetyTests {
    @Test func hostileLeaseIDsAreStoredInertly() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let hostile = [
                    "x'); DROP TABLE canary; --",
                    "x\"; DROP TABLE canary; --",
                    "$$; DROP TABLE canary; $$",
                    "lease-ünïcødé-😀 E'\\'' /* */",
                ]
                for leaseID in hostile {
                    let username = try fixture.username("lease")
                    try await engine.createUser(
                        DatabaseUserRequest(
                            username: username, password: testPassword, expiration: Date().addingTimeInterval(600),
                            creationStatements: readerTemplate(fixture), leaseID: leaseID
                        )
                    )
                    let comment = try await fixture.scalar(
                        "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = \(username.rawValue)",
                        as: String.self
                    )
                    #expect(comment == leaseID)
                }
                await #expect(throws: LeaseholdError.invalidRequest("")) {
                    try await engine.createUser(
                        DatabaseUserRequest(
                            username: try fixture.username(), password: testPassword, expiration: Date(),
                            creationStatements: readerTemplate(fixture), leaseID: "nul\u{0}'; DROP TABLE canary; --"
                        )
                    )
                }
                #expect(try await fixture.scalar("SELECT to_regclass('public.canary') IS NOT NULL", as: Bool.self) == true)
            }
        }
    }

    @Test(arguments: [
        "pw'; DROP TABLE canary; --",
        "pw\\'; DROP TABLE canary; --",
        "pw\u{0}",
        "pw-ünïcødé",
        "pw\nnext",
        "pw\"",
    ])
    func hostilePasswordsAreRefusedBeforeConnecting(_ password: String) async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let username = try fixture.username("pw")
                let error = await #expect(throws: LeaseholdError.self) {
                    try await engine.createUser(
                        DatabaseUserRequest(
                            username: username, password: SecretValue(password), expiration: Date().addingTimeInterval(600),
                            creationStatements: readerTemplate(fixture), leaseID: "lease-pw"
                        )
                    )
                }
                #expect(error?.code == .invalidRequest)
                #expect(error?.message.contains(password) == false)
                #expect(try await fixture.roleExists(username.rawValue) == false)
                #expect(try await fixture.scalar("SELECT to_regclass('public.canary') IS NOT NULL", as: Bool.self) == true)
            }
        }
    }

    @Test func passwordsWithSQLMetacharactersOutsideQuotesAreInert() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let username = try fixture.username("meta")
                let password = SecretValue("a;b--c$$d/*e*/f{{name}}g")
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: username, password: password, expiration: Date().addingTimeInterval(600),
                        creationStatements: readerTemplate(fixture), leaseID: "lease-meta"
                    )
                )
                let one = try await fixture.withConnection(as: username.rawValue, password: password.revealed) { connection in
                    var one = 0
                    for try await value in try await connection.query("SELECT 1", logger: fixture.logger).decode(Int.self) { one = value }
                    return one
                }
                #expect(one == 1)
                #expect(try await fixture.scalar("SELECT to_regclass('public.canary') IS NOT NULL", as: Bool.self) == true)
            }
        }
    }

    @Test func unquotedPlaceholdersAreRefused() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let username = try fixture.username("bare")
                for template in [
                    "CREATE ROLE {{name}} WITH LOGIN PASSWORD '{{password}}'",
                    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD {{password}}",
                    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD \"{{password}}\"",
                    "CREATE ROLE \"{{name}}\" -- {{password}}",
                ] {
                    await #expect(throws: LeaseholdError.invalidRequest("")) {
                        try await engine.createUser(
                            DatabaseUserRequest(
                                username: username, password: testPassword, expiration: Date(),
                                creationStatements: [template], leaseID: "lease-bare"
                            )
                        )
                    }
                }
                #expect(try await fixture.roleExists(username.rawValue) == false)
            }
        }
    }

    @Test func failingStatementRollsBackEverything() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let username = try fixture.username("broken")
                let error = await #expect(throws: LeaseholdError.self) {
                    try await engine.createUser(
                        DatabaseUserRequest(
                            username: username, password: testPassword, expiration: Date().addingTimeInterval(600),
                            creationStatements: readerTemplate(fixture) + ["GRANT SELEKT ON items TO \"{{name}}\""],
                            leaseID: "lease-broken"
                        )
                    )
                }
                #expect(error?.message.contains("statement 3") == true)
                #expect(error?.message.contains("SQLSTATE 42601") == true)
                #expect(error?.message.contains(testPassword.revealed) == false)
                #expect(String(describing: error?.underlying).contains(testPassword.revealed) == false)
                #expect(try await fixture.roleExists(username.rawValue) == false)

                let passwordError = await #expect(throws: LeaseholdError.self) {
                    try await engine.createUser(
                        DatabaseUserRequest(
                            username: username, password: testPassword, expiration: Date().addingTimeInterval(600),
                            creationStatements: ["CREATE ROLE \"{{name}}\" WITH LOGIN PASWORD '{{password}}'"],
                            leaseID: "lease-broken"
                        )
                    )
                }
                #expect(passwordError?.message.contains("statement 1") == true)
                #expect(passwordError?.message.contains(testPassword.revealed) == false)
                #expect(String(reflecting: passwordError?.underlying as Any).contains(testPassword.revealed) == false)
                #expect(try await fixture.roleExists(username.rawValue) == false)
            }
        }
    }

    @Test func lockHeldElsewhereFailsWithinLockTimeout() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine(try fixture.configuration(lockTimeout: .milliseconds(500))) { engine in
                let username = try fixture.username("lock")
                let clock = ContinuousClock()
                let started = clock.now
                // An uncommitted GRANT on the same table holds its catalog row; ours must wait, then give up.
                let error = try await fixture.database.whileHolding("GRANT SELECT ON locked TO \(fixture.readersRole)") {
                    await #expect(throws: LeaseholdError.self) {
                        try await engine.createUser(
                            DatabaseUserRequest(
                                username: username, password: testPassword, expiration: Date().addingTimeInterval(600),
                                creationStatements: readerTemplate(fixture) + ["GRANT SELECT ON locked TO \"{{name}}\""],
                                leaseID: "lease-lock"
                            )
                        )
                    }
                }
                #expect(clock.now - started < .seconds(5))
                #expect(error?.message.contains("55P03") == true)
                #expect(try await fixture.roleExists(username.rawValue) == false)
            }
        }
    }

    @Test func twentyConcurrentCreationsWithSchemaWideGrantsSucceed() async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let usernames = try (0..<20).map { _ in try fixture.username("c") }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for username in usernames {
                        group.addTask {
                            try await engine.createUser(
                                DatabaseUserRequest(
                                    username: username, password: testPassword, expiration: Date().addingTimeInterval(600),
                                    creationStatements: [
                                        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'",
                                        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\"",
                                    ],
                                    leaseID: "lease-\(username)"
                                )
                            )
                        }
                    }
                    try await group.waitForAll()
                }
                let managed = Set(try await engine.managedUsers().map(\.username))
                #expect(managed.isSuperset(of: usernames.map(\.rawValue)))
                try await withThrowingTaskGroup(of: RevocationOutcome.self) { group in
                    for username in usernames { group.addTask { try await engine.revokeUser(username, statements: []) } }
                    for try await outcome in group { #expect(outcome == .dropped) }
                }
            }
        }
    }

    /// The broker's durable record of the lease must exist before the user can: the target transaction waits for
    /// `beforeCommit` (with and without a template that takes the catalog lock), and a failing `beforeCommit`
    /// leaves nothing behind.
    @Test(arguments: [false, true])
    func theUserCommitsOnlyAfterBeforeCommitReturns(withObjectGrant: Bool) async throws {
        try await TargetFixture.with { fixture in
            try await fixture.withEngine { engine in
                let template = withObjectGrant ? readerTemplate(fixture) : [readerTemplate(fixture)[0]]
                let waited = try fixture.username("gate")
                let visibleWhileWaiting = Mutex<Bool?>(nil)
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: waited, password: testPassword, expiration: Date().addingTimeInterval(600),
                        creationStatements: template, leaseID: "gate",
                        beforeCommit: {
                            let visible = try await fixture.roleExists(waited.rawValue)
                            visibleWhileWaiting.withLock { $0 = visible }
                        }))
                #expect(visibleWhileWaiting.withLock { $0 } == false)
                #expect(try await fixture.roleExists(waited.rawValue))

                let refused = try fixture.username("gate")
                await #expect(throws: LeaseholdError.self) {
                    try await engine.createUser(
                        DatabaseUserRequest(
                            username: refused, password: testPassword, expiration: Date().addingTimeInterval(600),
                            creationStatements: template, leaseID: "gate",
                            beforeCommit: { throw LeaseholdError(.storeUnavailable, "the intent did not commit") }))
                }
                #expect(try await !fixture.roleExists(refused.rawValue))
            }
        }
    }
}
