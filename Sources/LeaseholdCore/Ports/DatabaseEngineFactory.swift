/// The settings of a target database connection (`database/config/:name`), as the engine factory needs them.
public struct DatabaseConnectionSettings: Sendable, Codable, Hashable {
    /// `postgresql-database-plugin`.
    public var pluginName: String
    /// The connection URL, possibly with `{{username}}` and `{{password}}` placeholders.
    public var connectionURL: String
    /// The admin username.
    public var username: String
    /// The admin password (encrypted at rest, never returned).
    public var password: SecretValue
    /// `password` or `scram-sha-256`.
    public var passwordAuthentication: String
    /// The size of the engine's connection pool.
    public var maxOpenConnections: Int
    /// PEM of CAs that verify the target's certificate.
    public var tlsCA: String?
    /// PEM client certificate for the admin connection.
    public var tlsCertificate: String?
    /// PEM client private key for the admin connection (a secret).
    public var tlsPrivateKey: SecretValue?

    /// Creates settings.
    public init(
        pluginName: String, connectionURL: String, username: String, password: SecretValue,
        passwordAuthentication: String = "password", maxOpenConnections: Int = 4, tlsCA: String? = nil,
        tlsCertificate: String? = nil, tlsPrivateKey: SecretValue? = nil
    ) {
        self.pluginName = pluginName
        self.connectionURL = connectionURL
        self.username = username
        self.password = password
        self.passwordAuthentication = passwordAuthentication
        self.maxOpenConnections = maxOpenConnections
        self.tlsCA = tlsCA
        self.tlsCertificate = tlsCertificate
        self.tlsPrivateKey = tlsPrivateKey
    }
}

/// Makes engines for target connections; provided by the executable, which knows the concrete adapters.
public protocol DatabaseEngineFactory: Sendable {
    /// The plugin names this factory supports (`postgresql-database-plugin`).
    var supportedPlugins: Set<String> { get }

    /// Checks statements for the plugin without a database (syntax, placeholder quoting); throws an
    /// invalid-request error naming the problem.
    func checkStatements(_ statements: [String], plugin: String) throws

    /// Makes a running engine for the settings. The factory owns the engine's background work.
    func makeEngine(for settings: DatabaseConnectionSettings) async throws -> any DatabaseEngine
}
