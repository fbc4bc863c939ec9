import LeaseholdCore

/// Where and how the engine reaches a target PostgreSQL server, and the knobs of its user management.
///
/// Secrets (the admin password, the client key) are ``LeaseholdCore/SecretValue``s and never appear in descriptions.
public struct PostgresTargetConfiguration: Sendable {
    /// The server's host name or IP address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The database the admin connects to (revocation also visits every other database that allows connections).
    public var database: String
    /// The admin user, which must be a superuser or have `CREATEROLE` (see ``PostgresDatabaseEngine``).
    public var username: String
    /// The admin user's password, if the server asks for one.
    public var password: SecretValue?
    /// TLS mode; ``PostgresSSLMode/verifyFull`` unless configured otherwise.
    public var sslMode: PostgresSSLMode
    /// PEM of the CA certificates that sign the server certificate; the system trust roots when `nil`.
    public var caCertificatePEM: String?
    /// PEM of the client certificate chain, for certificate authentication of the admin user.
    public var clientCertificatePEM: String?
    /// PEM of the client certificate's private key.
    public var clientKeyPEM: SecretValue?
    /// The name to verify the server certificate against (and send as SNI) instead of ``host``.
    public var serverName: String?
    /// The most connections the engine's pool opens to the target (Vault's `max_open_connections`).
    public var maxConnections: Int
    /// The longest any engine statement may run (`statement_timeout`).
    public var statementTimeout: Duration
    /// The longest any engine statement may wait for a lock (`lock_timeout`).
    public var lockTimeout: Duration
    /// The role that receives the objects of revoked users (`REASSIGN OWNED … TO`); the admin user when `nil`.
    public var heirRole: String?
    /// The longest any engine operation may take, connection included (default 10 s).
    public var operationTimeout: Duration = .seconds(10)
    /// The group role every managed user is made a member of, to find managed users again.
    public var bookkeepingRole: String
    /// How new passwords are sent to the server.
    public var passwordAuthentication: PostgresPasswordAuthentication

    /// Creates a configuration; every option has the documented default.
    public init(
        host: String,
        port: Int = 5432,
        database: String,
        username: String,
        password: SecretValue?,
        sslMode: PostgresSSLMode = .verifyFull,
        caCertificatePEM: String? = nil,
        clientCertificatePEM: String? = nil,
        clientKeyPEM: SecretValue? = nil,
        serverName: String? = nil,
        maxConnections: Int = 4,
        statementTimeout: Duration = .seconds(10),
        lockTimeout: Duration = .seconds(5),
        heirRole: String? = nil,
        bookkeepingRole: String = "leasehold_managed",
        passwordAuthentication: PostgresPasswordAuthentication = .password
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.sslMode = sslMode
        self.caCertificatePEM = caCertificatePEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.serverName = serverName
        self.maxConnections = maxConnections
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        self.heirRole = heirRole
        self.bookkeepingRole = bookkeepingRole
        self.passwordAuthentication = passwordAuthentication
    }

    /// The role that inherits revoked users' objects: ``heirRole`` or the admin user.
    public var effectiveHeirRole: String { heirRole ?? username }
}
