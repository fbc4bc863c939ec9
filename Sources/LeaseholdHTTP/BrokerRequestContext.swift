import Hummingbird
import Logging
import NIOCore

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

    /// The client's address as `ip:port`, or "" when unknown.
    public var remoteAddress: String {
        guard let address = channel.remoteAddress else { return "" }
        return "\(address.ipAddress ?? ""):\(address.port ?? 0)"
    }
}
