import Foundation
import LeaseholdCore
import LeaseholdEnginePostgres
@testable import LeaseholdService
import Logging
import Synchronization
import Testing

/// The engine cache follows the connection's settings, not its store version: a connection deleted and configured
/// again (here or by another instance on the same store) starts over at version 1 with other settings.
@Suite("Database engine cache")
struct DatabaseEnginesTests {
    static func connection(password: String, allowedRoles: [String] = ["*"]) -> DatabaseConnection {
        DatabaseConnection(
            name: "pg",
            settings: DatabaseConnectionSettings(
                pluginName: "postgresql-database-plugin",
                connectionURL: "postgresql://{{username}}:{{password}}@127.0.0.1:1/app?sslmode=disable", username: "admin",
                password: SecretValue(password)),
            allowedRoles: allowedRoles, usernameTemplate: "", passwordPolicy: "", rootRotationStatements: [],
            environment: "default", retired: false, pendingRootPassword: nil)
    }

    @Test func anEngineServesExactlyAsLongAsItsSettingsStayTheSame() async throws {
        let engines = DatabaseEngines(factory: PostgresEngineFactory(logger: Logger(label: "test")))
        let first = try await engines.engine(key: "database/pg", connection: Self.connection(password: "one"))
        // A change outside the settings (the allowed roles) keeps the engine and its pool.
        let again = try await engines.engine(
            key: "database/pg", connection: Self.connection(password: "one", allowedRoles: ["reader"]))
        let kept = ObjectIdentifier(again as AnyObject) == ObjectIdentifier(first as AnyObject)
        #expect(kept)
        // Other settings under the same key: a new engine, whatever the stored version says.
        let replaced = try await engines.engine(key: "database/pg", connection: Self.connection(password: "two"))
        let rebuilt = ObjectIdentifier(replaced as AnyObject) != ObjectIdentifier(first as AnyObject)
        #expect(rebuilt)
        await engines.shutdown()
    }

    @Test("callers racing for one connection's engine share one; every engine made in the race is shut down")
    func concurrentCallersKeepOneLiveEngine() async throws {
        let factory = TrackingFactory()
        let engines = DatabaseEngines(factory: factory)
        let served = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    let engine = try await engines.engine(key: "database/pg", connection: Self.connection(password: "one"))
                    return ObjectIdentifier(engine as AnyObject)
                }
            }
            return try await group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) }
        }
        #expect(served.count == 1)
        let made = factory.made.withLock { $0.count }
        let live = factory.live
        #expect(made > 1, "the factory suspends, so the callers must have raced")
        #expect(live.count == 1)
        #expect(live.first.map { ObjectIdentifier($0) } == served.first)

        // Old and new settings racing (a request that read the connection before it changed): whatever engine ends
        // up cached, it is the only one still running.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask {
                    _ = try await engines.engine(
                        key: "database/pg", connection: Self.connection(password: index.isMultiple(of: 2) ? "one" : "two"))
                }
            }
            try await group.waitForAll()
        }
        #expect(factory.live.count == 1)
        await engines.shutdown()
        #expect(factory.live.isEmpty)
    }
}

/// Makes real PostgreSQL engines, after a suspension that lets concurrent callers race, and remembers which of them
/// have been shut down.
private final class TrackingFactory: DatabaseEngineFactory {
    private let real = PostgresEngineFactory(logger: Logger(label: "test"))
    let made = Mutex<[TrackedEngine]>([])

    var supportedPlugins: Set<String> { real.supportedPlugins }

    func checkStatements(_ statements: [String], plugin: String) throws {
        try real.checkStatements(statements, plugin: plugin)
    }

    func makeEngine(for settings: DatabaseConnectionSettings) async throws -> any DatabaseEngine {
        try await Task.sleep(for: .milliseconds(20))
        let engine = TrackedEngine(try await real.makeEngine(for: settings))
        made.withLock { $0.append(engine) }
        return engine
    }

    /// The engines made and not shut down.
    var live: [TrackedEngine] { made.withLock { $0.filter { !$0.isShutDown } } }
}

/// A real engine that records its shutdown.
private final class TrackedEngine: DatabaseEngine {
    private let engine: any DatabaseEngine
    private let shutDown = Atomic(false)

    init(_ engine: any DatabaseEngine) { self.engine = engine }

    var isShutDown: Bool { shutDown.load(ordering: .sequentiallyConsistent) }

    func verifyConnection() async throws { try await engine.verifyConnection() }
    func createUser(_ request: DatabaseUserRequest) async throws { try await engine.createUser(request) }
    func validateTemplate(_ request: DatabaseUserRequest, revocationStatements: [String]) async throws {
        try await engine.validateTemplate(request, revocationStatements: revocationStatements)
    }
    func renewUser(_ username: DatabaseUsername, until expiration: Date, statements: [String]) async throws {
        try await engine.renewUser(username, until: expiration, statements: statements)
    }
    func revokeUser(_ username: DatabaseUsername, statements: [String]) async throws -> RevocationOutcome {
        try await engine.revokeUser(username, statements: statements)
    }
    func managedUsers() async throws -> [ManagedDatabaseUser] { try await engine.managedUsers() }
    func changeAdminPassword(to password: SecretValue) async throws { try await engine.changeAdminPassword(to: password) }
    func shutdown() async {
        await engine.shutdown()
        shutDown.store(true, ordering: .sequentiallyConsistent)
    }
}
