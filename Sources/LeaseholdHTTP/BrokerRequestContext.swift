import Hummingbird
import Logging
import NIOCore
import NIOSSL

/// The per-request context: Hummingbird's core storage plus the channel, for the peer address and, on TLS
/// listeners, the client certificate.
public struct BrokerRequestContext: RequestContext {
    /// Hummingbird's request storage.
    public var coreContext: CoreRequestContextStorage
    /// The connection's channel.
    public let channel: any Channel

    /// Creates the context from the connection.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The DER bytes of the client certificate presented in the TLS handshake, or `nil` on plaintext connections
    /// and when none was presented. It is only what the client presented: `auth/cert` verifies it.
    public func clientCertificateDER() async -> [UInt8]? {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get() else { return nil }
        return try? certificate.toDERBytes()
    }

    /// The client's address as `ip:port`, or "" when unknown.
    public var remoteAddress: String {
        guard let address = channel.remoteAddress else { return "" }
        return "\(address.ipAddress ?? ""):\(address.port ?? 0)"
    }
}
