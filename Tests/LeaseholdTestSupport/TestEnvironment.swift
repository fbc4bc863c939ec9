import Foundation

/// What the test environment provides, read from environment variables.
public enum TestEnvironment {
    /// The PostgreSQL server for integration tests, from `LEASEHOLD_TEST_POSTGRES_URL`
    /// (for example `postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable`); `nil` disables them.
    ///
    /// The user must be allowed to create and drop databases.
    public static let postgresURL: String? = variable("LEASEHOLD_TEST_POSTGRES_URL")

    /// The TLS material of that server, from `LEASEHOLD_TEST_POSTGRES_TLS` (a directory written by
    /// `scripts/setup-debian.sh`); `nil`, which disables the TLS tests, when its files cannot be read (set-up skipped).
    public static let postgresTLS: PostgresTestTLS? = variable("LEASEHOLD_TEST_POSTGRES_TLS").map(PostgresTestTLS.init)
        .flatMap { tls in
            [tls.caPath, tls.clientCertificatePath, tls.clientKeyPath].allSatisfy(FileManager.default.isReadableFile)
                ? tls : nil
        }

    private static func variable(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}

/// The files of the test server's TLS set-up: a throw-away CA, which signed the server's certificate (naming
/// `localhost` only, no address) and a client certificate for ``clientRole``, a role that logs in over TLS with
/// that certificate only.
public struct PostgresTestTLS: Sendable {
    /// The directory holding the files.
    public let directory: String
    /// The role the client certificate names; it has no privileges beyond logging in.
    public let clientRole = "leasehold_tls_client"

    /// The CA certificate (PEM).
    public var caPath: String { directory + "/ca.pem" }
    /// The client certificate (PEM).
    public var clientCertificatePath: String { directory + "/client.pem" }
    /// The client's private key (PEM).
    public var clientKeyPath: String { directory + "/client.key" }

    /// The content of the file at `path`.
    public func contents(of path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
}
