import Foundation
import LeaseholdCore
import LeaseholdEnginePostgres
import Logging
import Testing

@Suite("PostgreSQL engine: deadlines against an unreachable target")
struct EngineDeadlineTests {
    @Test func callsToAnUnreachableTargetFailAtTheirDeadline() async throws {
        // Nothing listens on port 1: the pool keeps retrying, the engine's deadline ends the call anyway.
        var configuration = PostgresTargetConfiguration(
            host: "127.0.0.1", port: 1, database: "nowhere", username: "nobody", password: SecretValue("x"), sslMode: .disable)
        configuration.operationTimeout = .milliseconds(800)
        let engine = try PostgresDatabaseEngine(configuration: configuration, logger: Logger(label: "deadline"))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            let started = ContinuousClock.now
            await #expect {
                _ = try await engine.revokeUser(try DatabaseUsername("v-nobody-0123456789abcdef"), statements: [])
            } throws: { error in
                (error as? LeaseholdError)?.code == .targetUnavailable
            }
            await #expect {
                try await engine.createUser(
                    DatabaseUserRequest(
                        username: try DatabaseUsername("v-nobody-0123456789abcdef"), password: SecretValue("abcdefgh12345678"),
                        expiration: Date().addingTimeInterval(60), creationStatements: ["CREATE ROLE \"{{name}}\" LOGIN PASSWORD '{{password}}'"],
                        leaseID: "lease"))
            } throws: { error in
                (error as? LeaseholdError)?.code == .targetUnavailable
            }
            // Two 800 ms deadlines, each reported as the target being unavailable; without them the calls would wait
            // for the pool forever. The bound is loose because the whole suite shares two cores with this test
            // (5.9 s was measured once under that load).
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(15), "the calls took \(elapsed)")
            await engine.shutdown()
            group.cancelAll()
        }
    }
}
