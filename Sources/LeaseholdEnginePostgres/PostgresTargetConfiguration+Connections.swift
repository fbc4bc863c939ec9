import LeaseholdCore
import LeaseholdPostgresTLS
import NIOCore
import NIOSSL
import PostgresNIO

extension PostgresTargetConfiguration {
    /// The NIOSSL client configuration for ``sslMode``, or `nil` for ``PostgresSSLMode/disable``
    /// (``PostgresClientTLS``).
    func tlsConfiguration() throws -> TLSConfiguration? {
        do {
            return try PostgresClientTLS.configuration(
                mode: sslMode, trustRootsPEM: caCertificatePEM.map { Array($0.utf8) },
                clientCertificatePEM: clientCertificatePEM.map { Array($0.utf8) }, clientKeyPEM: clientKeyPEM)
        } catch .unpairedClientIdentity {
            throw LeaseholdError.invalidRequest("a client certificate and its private key must be given together")
        } catch {
            throw LeaseholdError.invalidRequest("the target's TLS certificates or key are not valid PEM")
        }
    }

    /// Session defaults every engine connection starts with: the timeouts, UTC and an application name.
    var startupParameters: [(String, String)] {
        [
            ("statement_timeout", "\(statementTimeout.sqlMilliseconds)"),
            ("lock_timeout", "\(lockTimeout.sqlMilliseconds)"),
            ("TimeZone", "UTC"),
            ("application_name", "leasehold"),
        ]
    }

    /// The connection-pool configuration for the admin database.
    func clientConfiguration() throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = try tlsConfiguration().map { .require($0) } ?? .disable
        var configuration = PostgresClient.Configuration(
            host: host,
            port: port,
            username: username,
            password: password?.revealed,
            database: database,
            tls: tls
        )
        configuration.options.maximumConnections = max(1, maxConnections)
        configuration.options.tlsServerName = serverName
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    /// The configuration of a single connection to `database` with the admin credentials and TLS settings.
    func connectionConfiguration(database: String) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        if let tlsConfiguration = try tlsConfiguration() {
            do {
                tls = .require(try NIOSSLContext(configuration: tlsConfiguration))
            } catch {
                throw LeaseholdError.invalidRequest("the target's TLS configuration is not usable")
            }
        } else {
            tls = .disable
        }
        var configuration = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: username,
            password: password?.revealed,
            database: database,
            tls: tls
        )
        configuration.options.tlsServerName = serverName
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }
}
