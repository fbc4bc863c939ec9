import NIOCore
import NIOHTTP1

/// Closes a connection whose request has not arrived in full within `limit` of its head (Vault's
/// `http_read_timeout`): a client trickling a body a byte at a time, each byte inside the idle timeout, would
/// otherwise hold the connection and its request task forever. A request that has arrived is never cut off while
/// it is answered, and a pipelined request's time starts only once the answers before it are written (until then
/// the server is not reading it). Sits after the HTTP decoder; lives on one channel's event loop.
final class RequestReadDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let limit: TimeAmount
    private var pending: Scheduled<Void>?
    /// Requests received in full whose answers are not written yet.
    private var unanswered = 0
    /// A request began while earlier ones were unanswered: its time starts when they are.
    private var waitingToStart = false

    init(limit: TimeAmount) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            if unanswered == 0 { start(context) } else { waitingToStart = true }
        case .body:
            break
        case .end:
            stop()
            waitingToStart = false
            unanswered += 1
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0, waitingToStart {
                waitingToStart = false
                start(context)
            }
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    private func start(_ context: ChannelHandlerContext) {
        pending?.cancel()
        let channel = context.channel
        pending = context.eventLoop.scheduleTask(in: limit) { channel.close(promise: nil) }
    }

    private func stop() {
        pending?.cancel()
        pending = nil
    }
}
