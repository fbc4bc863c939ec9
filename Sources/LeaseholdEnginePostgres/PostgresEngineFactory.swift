import LeaseholdCore
import Logging

/// Makes PostgreSQL engines for stored connections and runs their connection pools.
///
/// Run ``run()`` for the server's lifetime (the composition root puts it in the service group); each engine made
/// by ``makeEngine(for:)`` runs as a child task until its `shutdown()`.
public final class PostgresEngineFactory: DatabaseEngineFactory {
    public let supportedPlugins: Set<String> = ["postgresql-database-plugin"]
    private let logger: Logger
    private let engines: AsyncStream<PostgresDatabaseEngine>
    private let continuation: AsyncStream<PostgresDatabaseEngine>.Continuation

    /// Creates the factory.
    public init(logger: Logger) {
        self.logger = logger
        (engines, continuation) = AsyncStream.makeStream(of: PostgresDatabaseEngine.self)
    }

    public func makeEngine(for settings: DatabaseConnectionSettings) async throws -> any DatabaseEngine {
        var configuration = try PostgresTargetConfiguration.parse(
            connectionURL: settings.connectionURL, username: settings.username.isEmpty ? nil : settings.username,
            password: settings.password.revealed.isEmpty ? nil : settings.password)
        configuration.maxConnections = settings.maxOpenConnections
        guard let authentication = PostgresPasswordAuthentication(rawValue: settings.passwordAuthentication) else {
            throw LeaseholdError.invalidRequest("password_authentication must be password or scram-sha-256")
        }
        configuration.passwordAuthentication = authentication
        if let ca = settings.tlsCA { configuration.caCertificatePEM = ca }
        if let certificate = settings.tlsCertificate { configuration.clientCertificatePEM = certificate }
        if let key = settings.tlsPrivateKey { configuration.clientKeyPEM = key }
        let engine = try PostgresDatabaseEngine(configuration: configuration, logger: logger)
        continuation.yield(engine)
        return engine
    }

    public func checkStatements(_ statements: [String], plugin: String) throws {
        _ = try StatementTemplate(statements)
    }

    /// Runs every engine's connection pool until cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await engine in engines {
                group.addTask { await engine.run() }
            }
        }
    }

    /// Stops accepting engines; ``run()`` returns once running engines shut down.
    public func finish() {
        continuation.finish()
    }
}
