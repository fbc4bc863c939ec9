import NIOCore
import NIOHTTP1

/// How Vault's custom `LIST` verb, which hvac sends by default, gets past swift-nio's HTTP/1 parser.
///
/// The parser (llhttp) only knows registered methods and rejects `LIST` with a 400 before any handler runs. Two
/// handlers sit around the decoder: one rewrites the bytes `LIST ` at the start of a request to the same-length
/// `LINK ` (which llhttp accepts), the other turns the decoded `LINK` back into `LIST`. A request start is known from
/// the decoder's previous `.end`, so bytes inside bodies are never touched. (Vault has no `LINK` operation, so
/// nothing is lost.)
enum ListVerbSupport {
    /// Adds the two handlers around the HTTP decoder of `channel`'s pipeline.
    static func install(in pipeline: ChannelPipeline.SynchronousOperations) throws {
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        let boundary = RequestBoundary()
        try pipeline.addHandler(ListVerbRewriter(boundary: boundary), position: .before(decoder))
        try pipeline.addHandler(ListVerbRestorer(boundary: boundary), position: .after(decoder))
    }
}

/// Whether the next inbound byte starts a new request. Lives on one channel's event loop.
final class RequestBoundary {
    var atRequestStart = true
}

/// Rewrites `LIST ` to `LINK ` at request starts, before the HTTP decoder.
final class ListVerbRewriter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let boundary: RequestBoundary
    private static let list = Array("LIST ".utf8)
    private static let link = Array("LINK ".utf8)

    init(boundary: RequestBoundary) { self.boundary = boundary }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if boundary.atRequestStart, buffer.readableBytes > 0 {
            boundary.atRequestStart = false
            if buffer.getBytes(at: buffer.readerIndex, length: 5) == Self.list {
                buffer.setBytes(Self.link, at: buffer.readerIndex)
            }
        }
        context.fireChannelRead(wrapInboundOut(buffer))
    }
}

/// Turns decoded `LINK` heads back into `LIST`, and marks request ends, after the HTTP decoder.
final class ListVerbRestorer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let boundary: RequestBoundary

    init(boundary: RequestBoundary) { self.boundary = boundary }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var part = unwrapInboundIn(data)
        switch part {
        case .head(var head):
            if head.method == .LINK || head.method == .RAW(value: "LINK") {
                head.method = .RAW(value: "LIST")
                part = .head(head)
            }
        case .body:
            break
        case .end:
            boundary.atRequestStart = true
        }
        context.fireChannelRead(wrapInboundOut(part))
    }
}
