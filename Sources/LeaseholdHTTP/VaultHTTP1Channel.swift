import HummingbirdCore
import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1 channel with what a Vault-compatible listener adds: the `LIST` verb
/// (``ListVerbSupport``), a bound on open connections (``ConnectionLimiter``) and on the time a request may take to
/// arrive (``RequestReadDeadline``). Connections idle for the idle timeout are closed by the base channel.
struct VaultHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let connections: ConnectionLimiter
    let readTimeout: Duration

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard connections.admit(channel) else {
            Counter(label: "leasehold_http_connections_refused_total").increment()
            logger.debug("connection refused: the listener is full", metadata: ["listener.max_connections": "\(connections.limit)"])
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ListenerFull())
        }
        return base.setup(channel: channel, logger: logger).flatMapThrowing { [readTimeout] value in
            let pipeline = channel.pipeline.syncOperations
            try ListVerbSupport.install(in: pipeline)
            let restorer = try pipeline.handler(type: ListVerbRestorer.self)
            try pipeline.addHandler(RequestReadDeadline(limit: TimeAmount(readTimeout)), position: .after(restorer))
            return value
        }.flatMapErrorThrowing { error in
            // NIO does not close a channel whose setup failed: without this its place would never be given back.
            channel.close(promise: nil)
            throw error
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the `LIST` verb and the connection and time bounds of `limits`.
    static func vaultHTTP1(limits: RequestLimits) -> HTTPServerBuilder {
        let connections = ConnectionLimiter(limit: limits.maximumConnections)
        return .init { responder in
            VaultHTTP1Channel(
                base: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout))),
                connections: connections, readTimeout: limits.readTimeout)
        }
    }
}
