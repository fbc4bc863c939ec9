import LeaseholdCore
import LeaseholdService
import NIOCore
import NIOPosix

/// Sends one UDP datagram per row (a JSON object, or an RFC 5424 syslog message).
///
/// UDP has no acknowledgement: a row counts as delivered once the datagram was handed to the kernel. A receiver
/// that is down or drops packets loses those rows, and nothing here can notice; use TCP, TLS, a file or a webhook
/// when every row must arrive.
actor DatagramAuditSink: AuditSink {
    private let host: String
    private let port: Int
    private let format: AuditEntryFormat
    private var channel: (any Channel)?
    private var remote: SocketAddress?

    init(host: String, port: Int, format: AuditEntryFormat) {
        self.host = host
        self.port = port
        self.format = format
    }

    func deliver(_ records: [AuditRecord]) async throws(AuditDeliveryFailure) {
        var delivered = 0
        do {
            let (channel, remote) = try await openChannel()
            for record in records {
                let envelope = AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: try format.message(record)))
                try await channel.writeAndFlush(envelope)
                delivered += 1
            }
        } catch {
            await close()
            throw AuditDeliveryFailure(delivered: delivered, reason: StreamAuditSink.reason(error))
        }
    }

    func close() async {
        try? await channel?.close()
        channel = nil
    }

    private func openChannel() async throws -> (any Channel, SocketAddress) {
        if let channel, let remote, channel.isActive { return (channel, remote) }
        let remote = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let local = remote.protocol == .inet6 ? "::" : "0.0.0.0"
        let opened = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: local, port: 0).get()
        channel = opened
        self.remote = remote
        return (opened, remote)
    }
}
