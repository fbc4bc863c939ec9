import Foundation
import LeaseholdCore
import LeaseholdService
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Sends framed rows over one TCP connection (TLS when configured): JSON lines for `socket`, octet-counted
/// RFC 5424 messages (RFC 6587) for `syslog`.
///
/// A batch counts as delivered once the receiver's TCP stack acknowledged every byte of it (Linux `TCP_INFO`: no
/// unacknowledged segment and no byte still waiting to be sent), not merely when the bytes reached the local send
/// buffer: a receiver that stops reading closes its window, and what it never took is not delivered. A connection that closed
/// or broke before that fails the whole batch, which is sent again on a new connection: the receiver may see a
/// batch twice (deduplicate on `leasehold.sequence`), never a gap.
actor StreamAuditSink: AuditSink {
    private let host: String
    private let port: Int
    private let tls: NIOSSLContext?
    private let format: AuditEntryFormat
    private var channel: (any Channel)?
    private var peerClosure = PeerClosure()
    /// The longest wait for the receiver's acknowledgement or a connection.
    private let timeout: Duration

    init(
        host: String, port: Int, trust: AuditSinkSettings.TrustedCertificates?, format: AuditEntryFormat,
        timeout: Duration = .seconds(10)
    ) throws {
        self.timeout = timeout
        self.host = host
        self.port = port
        self.format = format
        tls = try trust.map { trust in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.trustRoots = try TrustedRoots.load(trust)
            return try NIOSSLContext(configuration: configuration)
        }
    }

    func deliver(_ records: [AuditRecord]) async throws(AuditDeliveryFailure) {
        var buffer = ByteBuffer()
        do {
            for record in records { buffer.writeBytes(try format.streamFrame(record)) }
        } catch {
            throw AuditDeliveryFailure(delivered: 0, reason: "a row could not be encoded")
        }
        do {
            let channel = try await connectedChannel()
            // A receiver that stops reading would hold a batch larger than the socket buffers forever.
            let batch = buffer
            let expired = ChannelError.connectTimeout(TimeAmount(timeout))
            try await withDeadline(timeout, timeoutError: expired) {
                try await channel.writeAndFlush(batch)
            }
            try await waitUntilAcknowledged(channel, peerClosure: peerClosure)
        } catch {
            await dropConnection()
            throw AuditDeliveryFailure(delivered: 0, reason: Self.reason(error))
        }
    }

    func close() async { await dropConnection() }

    private func dropConnection() async {
        try? await channel?.close()
        channel = nil
    }

    private func connectedChannel() async throws -> any Channel {
        if let channel, channel.isActive, !peerClosure.hasClosed { return channel }
        await dropConnection()
        let tls = self.tls
        let serverHostname = Self.isIPAddress(host) ? nil : host
        let closure = PeerClosure()
        let connected = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(closure)
                }
            }
            .connect(host: host, port: port).get()
        channel = connected
        peerClosure = closure
        return connected
    }

    /// Polls the socket until every byte written was sent and acknowledged, failing if the connection goes away
    /// or the timeout passes first.
    /// The acknowledgement is checked before the connection's state: a receiver that read the batch and then
    /// closed acknowledged it with its FIN, and the batch is delivered (remote half-closure keeps the socket open
    /// so `TCP_INFO` can still be read).
    private func waitUntilAcknowledged(_ channel: any Channel, peerClosure: PeerClosure) async throws {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return }
        let deadline = ContinuousClock.now + timeout
        while true {
            let info: KernelTCPInfo = try await provider.unsafeGetSocketOption(level: .tcp, name: .tcp_info).get()
            if info.unacknowledgedSegments == 0, info.unsentBytes == 0 { return }
            guard channel.isActive, !peerClosure.hasClosed else { throw ChannelError.ioOnClosedChannel }
            guard ContinuousClock.now < deadline else { throw ChannelError.connectTimeout(TimeAmount(timeout)) }
            try await Task.sleep(for: .milliseconds(2))
        }
        #endif
    }

    private static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
    }

    /// A short, secret-free reason for logs.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as IOError: "I/O error: \(String(cString: strerror(error.errnoCode)))"
        case is NIOConnectionError: "connection failed"
        case let error as NIOSSLError: "TLS error: \(error)"
        case is ChannelError: "connection lost or timed out"
        default: "\(type(of: error))"
        }
    }
}

/// Notes that the receiver closed its side of the connection, which NIO then keeps open for `TCP_INFO`; the
/// connection is not used for another batch.
private final class PeerClosure: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let closed = Atomic<Bool>(false)

    var hasClosed: Bool { closed.load(ordering: .relaxed) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { closed.store(true, ordering: .relaxed) }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Loads the trust roots of an audit sink's TLS client.
enum TrustedRoots {
    static func load(_ trust: AuditSinkSettings.TrustedCertificates) throws -> NIOSSLTrustRoots {
        let pem: String
        switch trust {
        case .system: return .default
        case .pem(let text): pem = text
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw LeaseholdError.invalidRequest("the CA file \(path.prefix(256)) cannot be read")
            }
            pem = String(decoding: data, as: UTF8.self)
        }
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)), !certificates.isEmpty else {
            throw LeaseholdError.invalidRequest("the CA certificates are not valid PEM")
        }
        return .certificates(certificates)
    }
}

#if os(Linux)
/// The two fields of Linux's `struct tcp_info` the sink reads, at the kernel's offsets (Glibc's copy of the struct
/// ends before `tcpi_notsent_bytes`). A kernel older than 4.6 fills fewer bytes and the rest reads as zero.
struct KernelTCPInfo {
    /// The struct's first 160 bytes.
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// `tcpi_unacked`: segments sent and not yet acknowledged.
    var unacknowledgedSegments: UInt32 { field(at: 24) }
    /// `tcpi_notsent_bytes`: bytes in the send buffer not yet sent (a closed receive window keeps them there).
    var unsentBytes: UInt32 { field(at: 144) }

    private func field(at offset: Int) -> UInt32 {
        withUnsafeBytes(of: storage) { $0.load(fromByteOffset: offset, as: UInt32.self) }
    }
}
#endif
