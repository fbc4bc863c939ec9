import LeaseholdCore
import LeaseholdEnginePostgres
@testable import LeaseholdService
import Logging
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
}
