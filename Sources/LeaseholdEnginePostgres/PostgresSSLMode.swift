/// How the engine protects its connections to a target PostgreSQL server (libpq's `sslmode` names).
///
/// Only ``disable`` and ``require`` skip server verification, and only when configured explicitly; the default is
/// ``verifyFull``.
public enum PostgresSSLMode: String, Sendable, Hashable, CaseIterable {
    /// Plain TCP, no TLS.
    case disable
    /// TLS without verifying the server certificate (protects against passive eavesdropping only).
    case require
    /// TLS, verifying the certificate chain against the configured CA (or the system roots) but not the host name.
    case verifyCA = "verify-ca"
    /// TLS, verifying the certificate chain and that the certificate names the host (or the server name override).
    case verifyFull = "verify-full"
}
