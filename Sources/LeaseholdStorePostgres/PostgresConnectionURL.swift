import Foundation
import LeaseholdCore
import NIOSSL
import PostgresNIO

/// Parses `postgres://` connection URLs into `PostgresClient` configurations.
///
/// Accepted form: `postgres[ql]://user[:password]@host[:port]/database[?sslmode=MODE]`, with percent-encoded user and
/// password. `sslmode` follows libpq: `disable` (plain TCP), `prefer` (the default: TLS when the server offers it,
/// certificate not verified), `require` (TLS, certificate not verified) and `verify-full` (TLS, chain and host name
/// verified against the system trust roots).
public enum PostgresConnectionURL {
    /// Builds a configuration from `url`.
    ///
    /// Throws ``LeaseholdCore/LeaseholdError/Code/invalidRequest``; the message never repeats the URL, which may hold
    /// a password.
    public static func configuration(from url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme),
            let host = components.connectableHost,
            let username = components.user, !username.isEmpty
        else {
            throw LeaseholdError.invalidRequest("the PostgreSQL URL must look like postgres://user@host:port/database")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(unverified)
        case "require": tls = .require(unverified)
        case "verify-full": tls = .require(.makeClientConfiguration())
        default: throw LeaseholdError.invalidRequest("sslmode must be disable, prefer, require or verify-full")
        }
        return PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: username,
            password: components.password,
            database: database.isEmpty ? nil : database,
            tls: tls
        )
    }
}
