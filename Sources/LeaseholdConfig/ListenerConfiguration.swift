import LeaseholdCore

/// An HTTP listener (`listener "tcp" { … }`).
public struct ListenerConfiguration: Sendable, Hashable {
    /// The default bind address.
    public static let defaultAddress = "127.0.0.1:8200"
    /// The default request body limit: 32 MiB, as in Vault.
    public static let defaultMaximumRequestSize = 32 << 20
    /// The default `http_idle_timeout` and `http_read_timeout`: 30 s.
    public static let defaultTimeout = TTL(seconds: 30)

    /// `host:port` to bind.
    public var address: String
    /// TLS settings, or `nil` when `tls_disable` is set.
    public var tls: TLSListenerConfiguration?
    /// The largest accepted request body, in bytes.
    public var maximumRequestSize: Int
    /// How long a connection may stay silent, mid-request or between requests (`http_idle_timeout`).
    public var idleTimeout: TTL
    /// How long a request may take to arrive once its head has (`http_read_timeout`).
    public var readTimeout: TTL
    /// The most connections open at once (`max_connections`), or `nil` for a bound derived from the process's
    /// open-file limit.
    public var maximumConnections: Int?

    /// Creates a listener configuration.
    public init(
        address: String = defaultAddress,
        tls: TLSListenerConfiguration?,
        maximumRequestSize: Int = defaultMaximumRequestSize,
        idleTimeout: TTL = defaultTimeout,
        readTimeout: TTL = defaultTimeout,
        maximumConnections: Int? = nil
    ) {
        self.address = address
        self.tls = tls
        self.maximumRequestSize = maximumRequestSize
        self.idleTimeout = idleTimeout
        self.readTimeout = readTimeout
        self.maximumConnections = maximumConnections
    }
}

/// The TLS settings of a listener.
public struct TLSListenerConfiguration: Sendable, Hashable {
    /// A TLS protocol version the broker accepts as a minimum.
    public enum Version: String, Sendable, Hashable {
        /// TLS 1.2 (the default).
        case tls12
        /// TLS 1.3.
        case tls13
    }

    /// PEM certificate chain file.
    public var certificateFile: String
    /// PEM private key file.
    public var keyFile: String
    /// PEM bundle of CAs trusted for client certificates, if client certificates are used.
    public var clientCAFile: String?
    /// Whether every client must present a certificate signed by ``clientCAFile``.
    public var requiresClientCertificate: Bool
    /// The lowest protocol version accepted.
    public var minimumVersion: Version
    /// Whether the listener asks clients for a certificate (for `auth/cert` and direct mTLS) when no
    /// ``clientCAFile`` is set; `tls_disable_client_certs` turns it off.
    public var requestsClientCertificates: Bool

    /// Creates TLS settings.
    public init(
        certificateFile: String,
        keyFile: String,
        clientCAFile: String? = nil,
        requiresClientCertificate: Bool = false,
        minimumVersion: Version = .tls12,
        requestsClientCertificates: Bool = true
    ) {
        self.requestsClientCertificates = requestsClientCertificates
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.requiresClientCertificate = requiresClientCertificate
        self.minimumVersion = minimumVersion
    }
}
