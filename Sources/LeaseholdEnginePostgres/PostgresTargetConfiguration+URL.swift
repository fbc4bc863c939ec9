import Foundation
import LeaseholdCore

extension PostgresTargetConfiguration {
    /// Parses Vault's `connection_url` for PostgreSQL:
    /// `postgres[ql]://{{username}}:{{password}}@host[:port]/database[?sslmode=MODE]`.
    ///
    /// `{{username}}` and `{{password}}` take `username` and `password`; a literal, percent-encoded user or password in
    /// the URL is used when the parameter is `nil`. `sslmode` accepts `disable`, `require`, `verify-ca` and
    /// `verify-full` (the default when absent). `prefer` and `allow` are refused because they silently fall back to
    /// plain text, and `sslrootcert`/`sslcert`/`sslkey` are refused because they name files on the server: use the
    /// inline PEM properties instead. Other query parameters are ignored.
    ///
    /// Throws ``LeaseholdCore/LeaseholdError/Code/invalidRequest`` with a message that never repeats the URL.
    public static func parse(
        connectionURL: String,
        username: String?,
        password: SecretValue?
    ) throws -> PostgresTargetConfiguration {
        let usernameToken = "leasehold-username-placeholder"
        let passwordToken = "leasehold-password-placeholder"
        let prepared = connectionURL
            .replacingOccurrences(of: "{{username}}", with: usernameToken)
            .replacingOccurrences(of: "{{password}}", with: passwordToken)
        guard let components = URLComponents(string: prepared),
            let scheme = components.scheme?.lowercased(), ["postgres", "postgresql"].contains(scheme),
            let host = components.connectableHost
        else {
            throw LeaseholdError.invalidRequest("connection_url must look like postgresql://{{username}}:{{password}}@host:5432/database")
        }
        let urlUser = components.user
        let resolvedUser: String? = urlUser == usernameToken || urlUser == nil ? username : (username ?? urlUser)
        guard let resolvedUser, !resolvedUser.isEmpty else {
            throw LeaseholdError.invalidRequest("connection_url needs a username (set `username` for {{username}})")
        }
        let urlPassword = components.password
        let resolvedPassword: SecretValue? =
            urlPassword == passwordToken || urlPassword == nil ? password : (password ?? urlPassword.map(SecretValue.init))
        let database = String(components.path.drop(while: { $0 == "/" }))
        let query = components.queryItems ?? []
        for fileParameter in ["sslrootcert", "sslcert", "sslkey"] where query.contains(where: { $0.name == fileParameter }) {
            throw LeaseholdError.invalidRequest(
                "connection_url parameter \(fileParameter) names a file; use the inline tls_ca, tls_certificate and private_key fields instead"
            )
        }
        let sslMode = try PostgresSSLMode(urlValue: query.first(where: { $0.name == "sslmode" })?.value)
        return PostgresTargetConfiguration(
            host: host,
            port: components.port ?? 5432,
            database: database.isEmpty ? resolvedUser : database,
            username: resolvedUser,
            password: resolvedPassword,
            sslMode: sslMode
        )
    }
}
