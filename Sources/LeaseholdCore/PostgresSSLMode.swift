/// How Leasehold protects a connection to a PostgreSQL server, a target or its own store (libpq's `sslmode` names).
///
/// Only ``disable`` and ``require`` skip server verification, and only when configured explicitly; the default is
/// ``verifyFull``. libpq's `allow` and `prefer` are not offered: they fall back to plain text without a word.
public enum PostgresSSLMode: String, Sendable, Hashable, CaseIterable {
    /// Plain TCP, no TLS.
    case disable
    /// TLS without verifying the server certificate (protects against passive eavesdropping only).
    case require
    /// TLS, verifying the certificate chain against the configured CA (or the system roots) but not the host name.
    case verifyCA = "verify-ca"
    /// TLS, verifying the certificate chain and that the certificate names the host (or the server name override).
    case verifyFull = "verify-full"

    /// Parses a URL's `sslmode` value; absent means ``verifyFull``. Throws
    /// ``LeaseholdError/Code/invalidRequest`` for anything else, `allow` and `prefer` included.
    public init(urlValue: String?) throws {
        guard let urlValue else {
            self = .verifyFull
            return
        }
        guard let mode = PostgresSSLMode(rawValue: urlValue) else {
            throw LeaseholdError.invalidRequest("sslmode must be disable, require, verify-ca or verify-full")
        }
        self = mode
    }

    /// The mode in force when a CA is configured (`hasCA`): as in libpq, ``require`` with a CA verifies the chain
    /// (``verifyCA``), so a configured CA is never silently ignored.
    public func effective(hasCA: Bool) -> PostgresSSLMode {
        self == .require && hasCA ? .verifyCA : self
    }

    /// Whether the server's certificate chain must verify.
    public var verifiesChain: Bool { self == .verifyCA || self == .verifyFull }

    /// Whether the server's certificate must also name the host.
    public var verifiesHostName: Bool { self == .verifyFull }
}
