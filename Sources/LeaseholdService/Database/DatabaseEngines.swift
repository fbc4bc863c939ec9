import LeaseholdCore

/// The running engines, one per connection, rebuilt when the connection's settings change.
///
/// Keyed by the settings themselves, not the stored version: a connection deleted and configured again starts over
/// at version 1, and another instance sharing the store may have done it, so an equal version is no proof of equal
/// settings (a stale engine would keep using the old server and credentials).
public actor DatabaseEngines {
    private let factory: any DatabaseEngineFactory
    private var engines: [String: (settings: DatabaseConnectionSettings, engine: any DatabaseEngine)] = [:]

    /// Creates the cache over a factory.
    public init(factory: any DatabaseEngineFactory) { self.factory = factory }

    /// Checks statements for a plugin without touching a database.
    nonisolated func checkStatements(_ statements: [String], plugin: String) throws {
        try factory.checkStatements(statements, plugin: plugin)
    }

    /// The plugin names that can be configured.
    nonisolated var supportedPlugins: Set<String> { factory.supportedPlugins }

    /// The engine for `connection`'s settings, stored under `key`.
    func engine(key: String, connection: DatabaseConnection) async throws -> any DatabaseEngine {
        let settings = connection.settings
        if let cached = engines[key], cached.settings == settings { return cached.engine }
        let engine = try await factory.makeEngine(for: settings)
        // Making the engine and shutting a stale one down suspend: settle whatever another caller installed meanwhile.
        while let current = engines[key] {
            if current.settings == settings {
                await engine.shutdown()
                return current.engine
            }
            engines[key] = nil
            await current.engine.shutdown()
        }
        engines[key] = (settings, engine)
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
