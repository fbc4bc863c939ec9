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

    /// The client's address as `ip:port` or `[ipv6]:port` (see ``addressText(ip:port:)``), or "" when unknown.
    public var remoteAddress: String {
        guard let address = channel.remoteAddress, let ip = address.ipAddress else { return "" }
        return Self.addressText(ip: ip, port: address.port ?? 0)
    }

    /// `ip:port` for IPv4, `[ip]:port` for IPv6 (so the port can be told from the address: CIDR bindings and the
    /// login throttle read the host part), and an IPv4-mapped IPv6 address (a dual-stack listener's IPv4 client,
    /// `::ffff:10.1.2.3`, as NIO spells it) as the IPv4 address it is, so one client has one throttle key and one
    /// spelling in audit rows (CIDR blocks compare mapped addresses as IPv4 either way).
    public static func addressText(ip: String, port: Int) -> String {
        let lowercased = ip.lowercased()
        if lowercased.hasPrefix("::ffff:") {
            let mapped = lowercased.dropFirst("::ffff:".count)
            if mapped.contains("."), !mapped.contains(":") { return "\(mapped):\(port)" }
        }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
