import Foundation
import LeaseholdCore
import Testing

@testable import LeaseholdEnginePostgres

/// Prints createUser/revokeUser rates; a measurement, not a timed test. Enabled by `LEASEHOLD_ENGINE_MEASURE=1`.
@Suite(
    "PostgreSQL engine throughput (measurement)",
    .enabled(if: postgresAvailable && ProcessInfo.processInfo.environment["LEASEHOLD_ENGINE_MEASURE"] != nil),
    .serialized
)
struct EngineThroughputMeasurement {
    @Test(arguments: [(1, true), (8, true)])
    func createAndRevokeRate(concurrency: Int, serialized: Bool) async throws {
        try await TargetFixture.with { fixture in
            var configuration = try fixture.configuration()
            configuration.maxConnections = max(concurrency, 4)
            try await fixture.withEngine(configuration, serializesCreation: serialized) { engine in
                let total = 200
                let usernames = try (0..<total).map { _ in try fixture.username("m") }
                let clock = ContinuousClock()
                let created = try await clock.measure {
                    try await Self.run(usernames, concurrency: concurrency) { username in
                        try await engine.createUser(
                            DatabaseUserRequest(
                                username: username, password: testPassword, expiration: Date().addingTimeInterval(600),
                                creationStatements: [
                                    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE \(fixture.readersRole)",
                                    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\"",
                                ],
                                leaseID: "lease-\(username)"
                            )
                        )
                    }
                }
                let revoked = try await clock.measure {
                    try await Self.run(usernames, concurrency: concurrency) { username in
                        let outcome = try await engine.revokeUser(username, statements: [])
                        #expect(outcome == .dropped)
                    }
                }
                func rate(_ duration: Duration) -> Int {
                    Int(Double(total) / (Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18))
                }
                print("MEASURE concurrency=\(concurrency) serialized=\(serialized): create \(rate(created))/s, revoke \(rate(revoked))/s")
            }
        }
    }

    private static func run(
        _ usernames: [DatabaseUsername],
        concurrency: Int,
        _ body: @escaping @Sendable (DatabaseUsername) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                let share = stride(from: worker, to: usernames.count, by: concurrency).map { usernames[$0] }
                group.addTask { for username in share { try await body(username) } }
            }
            try await group.waitForAll()
        }
    }
}
