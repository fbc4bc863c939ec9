import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A real HTTPS server for identity-provider tests (JWKS, OIDC discovery, Kubernetes TokenReview), on
/// 127.0.0.1 with an ephemeral port and a certificate from ``TestCertificateAuthority``. Each path answers with
/// the handler set for it (404 otherwise), and every request is recorded so tests can count and inspect them.
public final class IdentityProviderServer: Sendable {
    /// A request the server received.
    public struct Received: Sendable {
        /// The path, without the query.
        public var path: String
        /// The `Authorization` header, if any.
        public var authorization: String?
        /// The body.
        public var body: [UInt8]
    }

    /// Answers one request: a status and a JSON body.
    public typealias Handler = @Sendable (Received) -> (status: Int, body: [UInt8])

    private let handlers = Mutex<[String: Handler]>([:])
    private let stalled = Mutex<Set<String>>([])
    private let received = Mutex<[Received]>([])
    /// The base URL, `https://127.0.0.1:<port>`.
    public let baseURL: String

    private init(port: Int) { baseURL = "https://127.0.0.1:\(port)" }

    /// Answers `path` with `handler`.
    public func handle(_ path: String, _ handler: @escaping Handler) {
        handlers.withLock { $0[path] = handler }
    }

    /// Answers `path` with a fixed JSON document.
    public func serve(_ path: String, status: Int = 200, json: String) {
        handle(path) { _ in (status, Array(json.utf8)) }
    }

    /// Answers `path` with a 200 head and the first byte of a body whose rest comes only 6 s later (a stalled provider).
    public func stallBody(_ path: String) {
        _ = stalled.withLock { $0.insert(path) }
    }

    /// The requests received for `path`.
    public func requests(to path: String) -> [Received] {
        received.withLock { $0.filter { $0.path == path } }
    }

    private struct Responder: HTTPResponder {
        typealias Context = BasicRequestContext
        let server: @Sendable () -> IdentityProviderServer?

        func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
            let body = try await request.body.collect(upTo: 1 << 20)
            let entry = Received(
                path: request.uri.path, authorization: request.headers[.authorization],
                body: Array(body.readableBytesView))
            guard let server = server() else { return Response(status: .serviceUnavailable) }
            server.received.withLock { $0.append(entry) }
            if server.stalled.withLock({ $0.contains(entry.path) }) {
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody { writer in
                        try await writer.write(ByteBuffer(string: "{"))
                        try await Task.sleep(for: .seconds(6))
                        try await writer.finish(nil)
                    })
            }
            guard let handler = server.handlers.withLock({ $0[entry.path] }) else { return Response(status: .notFound) }
            let (status, bytes) = handler(entry)
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json", .connection: "close"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// Runs a server with `certificate` for the duration of `body`.
    public static func run<T: Sendable>(
        certificate: IssuedCertificate, _ body: @Sendable (IdentityProviderServer) async throws -> T
    ) async throws -> T {
        let instance = Mutex<IdentityProviderServer?>(nil)
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(certificate.certificatePEM.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem)))
        let logger = Logger(label: "identity-provider")
        let application = Application(
            responder: Responder(server: { instance.withLock { $0 } }), server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                instance.withLock { $0 = IdentityProviderServer(port: port) }
            }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var server: IdentityProviderServer?
            for _ in 0..<500 where server == nil {
                server = instance.withLock { $0 }
                if server == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            let result: Result<T, any Error>
            if let server {
                do { result = .success(try await body(server)) } catch { result = .failure(error) }
            } else {
                result = .failure(CancellationError())
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}
