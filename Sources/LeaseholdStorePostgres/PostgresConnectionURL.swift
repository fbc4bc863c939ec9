import Foundation
import LeaseholdCore
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
        let tls: PostgresClient.Configuration.TLS
        if mode == .disable {
            tls = .disable
        } else {
            tls = .require(
                try tlsConfiguration(
                    mode: mode, rootCertificates: parameter("sslrootcert"), clientCertificate: parameter("sslcert"),
                    clientKey: parameter("sslkey")))
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

    /// The client TLS configuration for `mode`, with the trust roots and client identity read from the named files.
    static func tlsConfiguration(
        mode: PostgresSSLMode, rootCertificates: String?, clientCertificate: String?, clientKey: String?
    ) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = mode.effective(hasCA: rootCertificates != nil).certificateVerification
        if let rootCertificates {
            tls.trustRoots = .certificates(try certificates("sslrootcert", at: rootCertificates))
        }
        switch (clientCertificate, clientKey) {
        case (nil, nil):
            break
        case (let certificatePath?, let keyPath?):
            tls.certificateChain = try certificates("sslcert", at: certificatePath).map { .certificate($0) }
            tls.privateKey = .privateKey(
                try decodingPEM("sslkey", at: keyPath) { try NIOSSLPrivateKey(bytes: $0, format: .pem) })
        default:
            throw LeaseholdError.invalidRequest("sslcert and sslkey must be given together")
        }
        return tls
    }

    /// The certificates in the PEM file at `path` (at least one).
    private static func certificates(_ parameter: String, at path: String) throws -> [NIOSSLCertificate] {
        let certificates = try decodingPEM(parameter, at: path) { try NIOSSLCertificate.fromPEMBytes($0) }
        guard !certificates.isEmpty else { throw LeaseholdError.invalidRequest("\(parameter): \(path) holds no certificate") }
        return certificates
    }

    /// Reads the file at `path` and decodes it with `decode`; errors name the URL parameter and the path, never the
    /// content.
    private static func decodingPEM<Value>(
        _ parameter: String, at path: String, _ decode: ([UInt8]) throws -> Value
    ) throws -> Value {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw LeaseholdError.invalidRequest("\(parameter): cannot read \(path)")
        }
        do {
            return try decode(Array(contents))
        } catch {
            throw LeaseholdError.invalidRequest("\(parameter): \(path) does not hold PEM of the expected kind")
        }
    }
}

extension PostgresSSLMode {
    /// What NIOSSL checks of the server's certificate in this mode (``disable`` never gets that far).
    var certificateVerification: CertificateVerification {
        verifiesHostName ? .fullVerification : verifiesChain ? .noHostnameVerification : .none
    }
}
