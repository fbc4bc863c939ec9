import Foundation
import HTTPTypes
import Hummingbird
import LeaseholdAuditSinks
import LeaseholdCore
import LeaseholdService
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A syslog receiver on a real TCP socket (TLS when given a context) that collects octet-counted RFC 5424 frames
/// (RFC 6587). It can be stopped and started again on the same port, to simulate an outage.
final class SyslogReceiver: Sendable {
    private let tls: NIOSSLContext?
    private let received = Mutex<[String]>([])
    private let channels = Mutex<[any Channel]>([])

    init(tls: NIOSSLContext? = nil) { self.tls = tls }

    /// Every complete message received, in arrival order.
    var messages: [String] { received.withLock { $0 } }

    /// The `leasehold.sequence` of each message's JSON entry.
    var sequences: [Int64] { messages.compactMap(AuditEntryJSON.sequence(inSyslog:)) }

    /// Listens on `port` (0 for any) and returns the bound port.
    func start(port: Int = 0) async throws -> Int {
        let tls = self.tls
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(OctetCountedFrames(receiver: self))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        track(server)
        guard let bound = server.localAddress?.port else { throw LeaseholdError(.internalError, "receiver did not bind") }
        return bound
    }

    /// Closes the listening socket and every connection.
    func stop() async {
        let open = channels.withLock { channels in
            defer { channels = [] }
            return channels
        }
        for channel in open { try? await channel.close() }
    }

    fileprivate func track(_ channel: any Channel) { channels.withLock { $0.append(channel) } }
    fileprivate func receive(_ message: String) { received.withLock { $0.append(message) } }
}

/// Splits a byte stream into `LEN SP MSG` frames.
private final class OctetCountedFrames: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let receiver: SyslogReceiver
    var pending: [UInt8] = []

    init(receiver: SyslogReceiver) { self.receiver = receiver }

    func channelActive(context: ChannelHandlerContext) {
        receiver.track(context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        while let space = pending.firstIndex(of: UInt8(ascii: " ")),
            let length = Int(String(decoding: pending[..<space], as: UTF8.self)), pending.count > space + length
        {
            receiver.receive(String(decoding: pending[(space + 1)...(space + length)], as: UTF8.self))
            pending.removeFirst(space + 1 + length)
        }
    }
}

/// An HTTP receiver for the audit webhook (Hummingbird on a real socket) that can be stopped and restarted on the
/// same port.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        let sequenceHeader: String
        let authorization: String
        let body: String
    }

    private let received = Mutex<[Delivery]>([])
    private let running = Mutex<(group: ServiceGroup, task: Task<Void, any Error>)?>(nil)

    /// Every POST received, in arrival order.
    var deliveries: [Delivery] { received.withLock { $0 } }

    /// Serves on `port` (0 for any) and returns the bound port.
    func start(port: Int = 0) async throws -> Int {
        let router = Router()
        router.post("audit") { [self] request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            received.withLock {
                $0.append(Delivery(
                    sequenceHeader: request.headers[HTTPField.Name("X-Leasehold-Audit-Sequence")!] ?? "",
                    authorization: request.headers[.authorization] ?? "", body: String(buffer: body)))
            }
            return .noContent
        }
        let bound = Mutex<Int?>(nil)
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in bound.withLock { $0 = channel.localAddress?.port } },
            logger: Logger(label: "webhook-receiver"))
        let group = ServiceGroup(configuration: .init(services: [application], logger: Logger(label: "webhook-receiver")))
        running.withLock { $0 = (group, Task { try await group.run() }) }
        for _ in 0..<500 {
            if let port = bound.withLock({ $0 }) { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw LeaseholdError(.internalError, "webhook receiver did not start")
    }

    /// Stops serving (in-flight requests are answered first).
    func stop() async {
        guard let server = running.withLock({ $0 }) else { return }
        await server.group.triggerGracefulShutdown()
        _ = try? await server.task.value
        running.withLock { $0 = nil }
    }
}

/// Reads fields of a delivered Vault-shaped audit entry.
enum AuditEntryJSON {
    static func object(_ json: String) -> [String: JSONValue]? {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))?.objectValue
    }

    static func sequence(ofEntry json: String) -> Int64? {
        guard case .number(let value)? = object(json)?["leasehold"]?.objectValue?["sequence"] else { return nil }
        return Int64(value)
    }

    /// The sequence of the JSON entry carried by an RFC 5424 message (after the `-` structured data).
    static func sequence(inSyslog message: String) -> Int64? {
        guard let start = message.range(of: " - {") else { return nil }
        return sequence(ofEntry: String(message[message.index(before: start.upperBound)...]))
    }
}

extension BrokerHarness {
    /// Runs the audit sink registry (real transports, fast retries) alongside `body`.
    func withAuditSinks<T: Sendable>(_ body: @Sendable (AuditSinkRegistry) async throws -> T) async throws -> T {
        let registry = AuditSinkRegistry(
            broker: broker,
            retry: AuditRetryPolicy(poll: .milliseconds(100), initialDelay: .milliseconds(50), maximumDelay: .milliseconds(400)),
            logger: Logger(label: "audit-sinks"), makeSink: AuditSinks.make)
        let group = ServiceGroup(configuration: .init(services: [registry], logger: Logger(label: "audit-sinks")))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: Result<T, any Error>
            do { result = .success(try await body(registry)) } catch { result = .failure(error) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }

    /// The sequence of the newest audit row.
    func headSequence() async throws -> Int64 {
        try await sqlite.auditRecords(after: 0, limit: 100_000).last?.sequence ?? 0
    }
}
