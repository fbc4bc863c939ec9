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
    /// Requests whose head has arrived and whose answer is not written yet, counted from their head: an answer
    /// written before its request's body (a 404 outside `/v1/`) must not leave a request counted that no answer
    /// will ever take off.
    private var unanswered = 0
    /// The request being read began while earlier ones were unanswered: its time starts when they are.
    private var waitingToStart = false

    init(limit: TimeAmount) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            if unanswered == 1 { start(context) } else { waitingToStart = true }
        case .body:
            break
        case .end:
            stop()
            waitingToStart = false
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if unanswered == 1, waitingToStart {
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
