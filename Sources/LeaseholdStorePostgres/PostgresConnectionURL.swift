import Foundation
import LeaseholdCore
import LeaseholdPostgresTLS
import NIOSSL
import PostgresNIO

/// Parses `postgres://` connection URLs into `PostgresClient` configurations.
///
/// Accepted form: `postgres[ql]://user[:password]@host[:port]/database[?PARAMETERS]`, with percent-encoded user and
/// password. The parameters follow libpq's names:
/// - `sslmode` (``LeaseholdCore/PostgresSSLMode``): `verify-full` when absent (TLS, chain and host name verified),
///   `verify-ca`, `require` (TLS, nothing verified; the chain, as in libpq, when `sslrootcert` is given) or
///   `disable`; `allow` and `prefer` are refused, as they fall back to plain text silently;
/// - `sslrootcert`: a PEM file of the CA certificates to verify the server against, instead of the system roots;
/// - `sslcert` and `sslkey`: PEM files of a client certificate (chain) and its private key, for `cert`
///   authentication; only together.
///
/// The files are read when the URL is parsed, that is when the server starts. Other parameters are ignored.
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
        let parameters = components.queryItems ?? []
        func parameter(_ name: String) -> String? { parameters.first(where: { $0.name == name })?.value }
        let mode = try PostgresSSLMode(urlValue: parameter("sslmode"))
        let tls: PostgresClient.Configuration.TLS =
            try tlsConfiguration(
                mode: mode, rootCertificates: parameter("sslrootcert"), clientCertificate: parameter("sslcert"),
                clientKey: parameter("sslkey")
            ).map { .require($0) } ?? .disable
        return PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: username,
            password: components.password,
            database: database.isEmpty ? nil : database,
            tls: tls
        )
    }

    /// The client TLS configuration for `mode` (``PostgresClientTLS``), with the trust roots and client identity read
    /// from the named files, or `nil` for `disable` (the files are then not read). Errors name the URL parameter and
    /// the path, never the content.
    static func tlsConfiguration(
        mode: PostgresSSLMode, rootCertificates: String?, clientCertificate: String?, clientKey: String?
    ) throws -> TLSConfiguration? {
        guard mode != .disable else { return nil }
        do {
            return try PostgresClientTLS.configuration(
                mode: mode, trustRootsPEM: try rootCertificates.map { try contents("sslrootcert", at: $0) },
                clientCertificatePEM: try clientCertificate.map { try contents("sslcert", at: $0) },
                clientKeyPEM: try clientKey.map { SecretValue(String(decoding: try contents("sslkey", at: $0), as: UTF8.self)) })
        } catch let failure as PostgresClientTLS.Failure {
            switch failure {
            case .trustRoots: throw notPEM("sslrootcert", at: rootCertificates)
            case .clientCertificate: throw notPEM("sslcert", at: clientCertificate)
            case .clientKey: throw notPEM("sslkey", at: clientKey)
            case .unpairedClientIdentity: throw LeaseholdError.invalidRequest("sslcert and sslkey must be given together")
            }
        }
    }

    /// The bytes of the file at `path`, named by its URL `parameter` when it cannot be read.
    private static func contents(_ parameter: String, at path: String) throws -> [UInt8] {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw LeaseholdError.invalidRequest("\(parameter): cannot read \(path)")
        }
        return Array(contents)
    }

    /// The error for a file that does not hold PEM of the kind its URL `parameter` needs.
    private static func notPEM(_ parameter: String, at path: String?) -> LeaseholdError {
        LeaseholdError.invalidRequest("\(parameter): \(path ?? "") does not hold PEM of the expected kind")
    }
}
