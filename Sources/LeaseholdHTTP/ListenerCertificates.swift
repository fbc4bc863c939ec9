import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// TLS settings of one listener.
public struct ListenerTLSSettings: Sendable {
    /// PEM certificate chain file.
    public var certificateFile: String
    /// PEM private key file.
    public var keyFile: String
    /// PEM CAs trusted for client certificates; `nil` disables client certificates.
    public var clientCAFile: String?
    /// Whether a client certificate is required (otherwise requested and verified when presented).
    public var requiresClientCertificate: Bool
    /// Whether TLS 1.3 is the minimum (TLS 1.2 otherwise; older versions are never accepted).
    public var requiresTLS13: Bool
    /// Without ``clientCAFile``: whether clients are asked for a certificate, accepted as presented at the TLS
    /// layer and verified later by `auth/cert` against its own trusted certificates.
    public var requestsClientCertificates: Bool

    /// Creates settings.
    public init(
        certificateFile: String, keyFile: String, clientCAFile: String? = nil, requiresClientCertificate: Bool = false,
        requiresTLS13: Bool = false, requestsClientCertificates: Bool = true
    ) {
        self.requestsClientCertificates = requestsClientCertificates
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.requiresClientCertificate = requiresClientCertificate
        self.requiresTLS13 = requiresTLS13
    }
}

/// A listener's certificate and key, re-read from disk on ``reload()`` (SIGHUP) without dropping the listener.
///
/// Each handshake picks up the current pair through swift-nio-ssl's context callback, so new connections use
/// renewed certificates while established ones keep theirs.
public final class ListenerCertificates: Sendable {
    private struct Pair: Sendable {
        var chain: [NIOSSLCertificateSource]
        var key: NIOSSLPrivateKeySource
    }

    /// The settings the pair is read from.
    public let settings: ListenerTLSSettings
    private let current: Mutex<Pair>

    /// Reads the certificate chain and key; throws when either file is missing or invalid.
    public init(settings: ListenerTLSSettings) throws {
        self.settings = settings
        self.current = Mutex(try Self.read(settings))
    }

    /// Re-reads the files. On failure the previous pair stays in use and the error is thrown.
    public func reload() throws {
        let pair = try Self.read(settings)
        current.withLock { $0 = pair }
    }

    /// The listener's TLS channel configuration. With a client CA file, BoringSSL verifies presented
    /// certificates against it; without one (and unless disabled), a presented certificate is accepted here — its
    /// holder has still proven possession of the key in the handshake — and only `auth/cert` decides what it is
    /// worth, against its own trusted certificates.
    public func makeChannelConfiguration() -> TLSChannelConfiguration {
        var configuration = makeConfiguration()
        guard settings.clientCAFile == nil, settings.requestsClientCertificates else {
            return TLSChannelConfiguration(tlsConfiguration: configuration)
        }
        configuration.certificateVerification = .optionalVerification
        return TLSChannelConfiguration(tlsConfiguration: configuration) { _, promise in promise.succeed(.certificateVerified) }
    }

    /// The TLS 1.2 cipher suites offered: forward-secret (ECDHE) key exchange with an AEAD cipher only, no RSA key
    /// exchange and no CBC. TLS 1.3's suites all qualify and are not affected.
    static let tls12CipherSuites =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// The server TLS configuration: TLS 1.2 minimum with ``tls12CipherSuites``, client certificates optional or
    /// required.
    public func makeConfiguration() -> TLSConfiguration {
        let pair = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: pair.chain, privateKey: pair.key)
        configuration.minimumTLSVersion = settings.requiresTLS13 ? .tlsv13 : .tlsv12
        configuration.cipherSuites = Self.tls12CipherSuites
        if let clientCAFile = settings.clientCAFile {
            configuration.trustRoots = .file(clientCAFile)
            configuration.certificateVerification =
                settings.requiresClientCertificate ? .noHostnameVerification : .optionalVerification
        } else {
            configuration.certificateVerification = .none
        }
        configuration.sslContextCallback = { [self] _, promise in
            let pair = self.current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain
            override.privateKey = pair.key
            promise.succeed(override)
        }
        return configuration
    }

    private static func read(_ settings: ListenerTLSSettings) throws -> Pair {
        let chain = try NIOSSLCertificate.fromPEMFile(settings.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        guard !chain.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
        let key = try NIOSSLPrivateKey(file: settings.keyFile, format: .pem)
        // BoringSSL refuses a key that does not belong to the leaf: a half-replaced pair (certbot midway, a wrong
        // key file) is refused here instead of failing every handshake after a "reloaded" log line.
        _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        return Pair(chain: chain, key: .privateKey(key))
    }
}
