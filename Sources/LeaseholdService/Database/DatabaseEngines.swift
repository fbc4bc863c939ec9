import LeaseholdCore

/// The running engines, one per connection, rebuilt when the connection's stored configuration changes.
public actor DatabaseEngines {
    private let factory: any DatabaseEngineFactory
    private var engines: [String: (version: Int64, engine: any DatabaseEngine)] = [:]

    /// Creates the cache over a factory.
    public init(factory: any DatabaseEngineFactory) { self.factory = factory }

    /// Checks statements for a plugin without touching a database.
    nonisolated func checkStatements(_ statements: [String], plugin: String) throws {
        try factory.checkStatements(statements, plugin: plugin)
    }

    /// The plugin names that can be configured.
    nonisolated var supportedPlugins: Set<String> { factory.supportedPlugins }

    /// The engine of `connection` stored under `key` at `version`.
    func engine(key: String, connection: DatabaseConnection, version: Int64) async throws -> any DatabaseEngine {
        if let cached = engines[key], cached.version == version { return cached.engine }
        let engine = try await factory.makeEngine(for: connection.settings)
        if let raced = engines[key], raced.version == version {
            await engine.shutdown()
            return raced.engine
        }
        if let stale = engines.removeValue(forKey: key) { await stale.engine.shutdown() }
        engines[key] = (version, engine)
        return engine
    }

    /// Connects with `connection`'s settings through a throwaway engine and checks that it can manage roles.
    nonisolated func verify(_ connection: DatabaseConnection) async throws {
        let engine = try await factory.makeEngine(for: connection.settings)
        do {
            try await engine.verifyConnection()
            await engine.shutdown()
        } catch {
            await engine.shutdown()
            let message = (error as? LeaseholdError)?.message ?? "cannot connect"
            throw LeaseholdError.invalidRequest("error verifying connection: \(message)")
        }
    }

    /// Closes and forgets the engine of `key` (`reset`, delete).
    func reset(key: String) async {
        if let stale = engines.removeValue(forKey: key) { await stale.engine.shutdown() }
    }

    /// Closes every engine.
    public func shutdown() async {
        for (_, entry) in engines { await entry.engine.shutdown() }
        engines = [:]
    }
}
