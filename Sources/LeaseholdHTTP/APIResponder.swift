import Foundation
import HTTPTypes
import Hummingbird
import LeaseholdCore
import LeaseholdPolicy
import LeaseholdService
import Logging
import NIOCore

/// Limits applied to every connection and request before the broker sees them.
public struct RequestLimits: Sendable {
    /// The default bound on a listener's open connections.
    public static let defaultMaximumConnections = 4096

    /// The largest accepted body, in bytes (413 beyond it).
    public var maximumBodySize: Int
    /// JSON depth, count and length limits.
    public var json: JSONComplexityGuard
    /// How long a connection may go without a complete request head or body part, or idle between requests,
    /// before it is closed (a client trickling a header byte by byte included). A request being answered is never
    /// cut off.
    public var idleTimeout: Duration
    /// How long a request may take to arrive in full once its head has (a body trickled byte by byte included);
    /// the connection is closed beyond it.
    public var readTimeout: Duration
    /// The most connections the listener keeps open at once; connections beyond it are closed as they are accepted.
    public var maximumConnections: Int

    /// Creates limits; the defaults follow OpenBao's listener defaults (32 MiB bodies, 30 s to read a request),
    /// with a 30 s idle timeout and at most ``defaultMaximumConnections`` connections.
    public init(
        maximumBodySize: Int = 32 * 1024 * 1024, json: JSONComplexityGuard = JSONComplexityGuard(),
        idleTimeout: Duration = .seconds(30), readTimeout: Duration = .seconds(30),
        maximumConnections: Int = defaultMaximumConnections
    ) {
        self.maximumBodySize = maximumBodySize
        self.json = json
        self.idleTimeout = idleTimeout
        self.readTimeout = readTimeout
        self.maximumConnections = maximumConnections
    }
}

/// Translates HTTP requests in Vault's wire format into logical requests, and the broker's answers back.
public struct APIResponder: HTTPResponder {
    public typealias Context = BrokerRequestContext

    let broker: Broker
    let limits: RequestLimits
    let renderMetrics: @Sendable () -> String

    /// The paths that answer HEAD (load balancers' health probes); elsewhere HEAD is 405.
    static let headPaths: Set<String> = ["sys/health", "sys/seal-status", "sys/leader", "sys/init"]

    /// Creates the responder. `renderMetrics` returns the Prometheus text exposition for `sys/metrics`.
    public init(broker: Broker, limits: RequestLimits, renderMetrics: @escaping @Sendable () -> String) {
        self.broker = broker
        self.limits = limits
        self.renderMetrics = renderMetrics
    }

    public func respond(to request: Request, context: BrokerRequestContext) async throws -> Response {
        if request.uri.path == AuditWebPage.basePath || request.uri.path.hasPrefix(AuditWebPage.basePath + "/") {
            return await AuditWebPage(broker: broker).respond(to: request, context: context)
        }
        let isHead = request.method == .head
        do {
            let logical = try await makeLogicalRequest(from: request, context: context)
            let response = try await broker.handle(logical)
            return try render(response, requestID: logical.requestID, isHead: isHead)
        } catch let error as LeaseholdError {
            return errorResponse(error, isHead: isHead)
        } catch is NIOTooManyBytesError {
            return errorResponse(LeaseholdError(.payloadTooLarge, "http: request body too large"), isHead: isHead)
        } catch {
            context.logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            return errorResponse(LeaseholdError(.internalError, "internal error"), isHead: isHead)
        }
    }

    // MARK: Request translation

    private func makeLogicalRequest(from request: Request, context: BrokerRequestContext) async throws -> LogicalRequest {
        let rawPath = request.uri.path
        guard rawPath.hasPrefix("/v1/") else { throw LeaseholdError(.unsupportedPath, "not found") }
        let path = try RequestPath.normalize(String(rawPath.dropFirst(4)))
        if let namespace = request.headers[.vaultNamespace], !namespace.isEmpty, namespace != "/", namespace != "root" {
            throw LeaseholdError(.unsupportedPath, "namespace not found")
        }
        let query = Dictionary(
            request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { _, last in last })
        var operation: LogicalOperation
        var data: [String: JSONValue] = [:]
        switch request.method {
        case .head where !Self.headPaths.contains(path):
            // As in Vault, HEAD answers only where it has no effect: a HEAD elsewhere would do what GET does (issue a
            // credential, use up a token's use) and throw the answer away.
            throw LeaseholdError.unsupportedOperation
        case .get, .head:
            let list = try RequestData(query.mapValues(JSONValue.string)).bool("list") ?? false
            operation = list ? .list : .read
            data = query.filter { $0.key != "list" }.mapValues(JSONValue.string)
        case .delete:
            operation = .delete
            data = query.mapValues(JSONValue.string)
        case .post, .put:
            operation = .update
            data = try await body(of: request)
        case .patch:
            guard request.headers[.contentType]?.hasPrefix("application/merge-patch+json") == true else {
                throw LeaseholdError(
                    .unsupportedMediaType,
                    "PATCH requires Content-Type of application/merge-patch+json, provided \(request.headers[.contentType]?.prefix(64) ?? "")")
            }
            operation = .patch
            data = try await body(of: request)
        case HTTPRequest.Method("LIST"):
            operation = .list
            data = query.mapValues(JSONValue.string)
        default:
            throw LeaseholdError.unsupportedOperation
        }
        return LogicalRequest(
            // As in Vault, a list is of what is under the path: its ACL is checked on the path with its trailing `/`.
            operation: operation, path: operation == .list && !path.hasSuffix("/") ? path + "/" : path, data: RequestData(data), clientToken: clientToken(of: request),
            wrapTTL: try wrapTTL(of: request), remoteAddress: context.remoteAddress,
            requestKey: request.headers[.requestKey].flatMap { $0.isEmpty ? nil : $0 },
            clientCertificate: PresentedCertificate { [context] in await context.clientCertificateDER() })
    }

    private func body(of request: Request) async throws -> [String: JSONValue] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limits.maximumBodySize {
            throw LeaseholdError(.payloadTooLarge, "http: request body too large")
        }
        let buffer = try await request.body.collect(upTo: limits.maximumBodySize)
        let bytes = buffer.readableBytesView
        if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) {
            return [:]
        }
        try limits.json.check(bytes)
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw LeaseholdError.invalidRequest("failed to parse JSON input")
        }
        switch value {
        case .object(let members): return members
        case .null: return [:]
        default: throw LeaseholdError.invalidRequest("failed to parse JSON input: the body must be a JSON object")
        }
    }

    private func clientToken(of request: Request) -> SecretValue? {
        if let token = request.headers[.vaultToken], !token.isEmpty { return SecretValue(token) }
        if let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("bearer ") {
            let token = authorization.dropFirst(7).trimmingWhitespace()
            return token.isEmpty ? nil : SecretValue(token)
        }
        return nil
    }

    private func wrapTTL(of request: Request) throws -> TTL? {
        guard let header = request.headers[.vaultWrapTTL], !header.isEmpty else { return nil }
        do {
            return try TTL.parse(header)
        } catch {
            throw LeaseholdError.invalidRequest("error parsing X-Vault-Wrap-TTL header: invalid duration")
        }
    }

    // MARK: Response rendering

    private func render(_ response: LogicalResponse, requestID: String, isHead: Bool) throws -> Response {
        switch response.shape {
        case .metrics:
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: renderMetrics())))
        case .raw:
            return try json(.object(response.data ?? [:]), status: response.status ?? 200, isHead: isHead)
        case .envelope, .envelopeWithTopLevelData:
            if response.isEmpty { return Response(status: .noContent) }
            var body: [String: JSONValue] = [
                "request_id": .string(response.wrapInfo == nil ? requestID : ""), "lease_id": .string(response.leaseID),
                "renewable": .bool(response.renewable), "lease_duration": .int(Int(response.leaseDuration)),
                "data": response.data.map(JSONValue.object) ?? .null,
                "wrap_info": response.wrapInfo?.json ?? .null,
                "warnings": response.warnings.isEmpty ? .null : .strings(response.warnings),
                "auth": response.auth?.json ?? .null, "mount_type": "",
            ]
            if response.shape == .envelopeWithTopLevelData, let data = response.data {
                for (key, value) in data where body[key] == nil { body[key] = value }
            }
            return try json(.object(body), status: response.status ?? 200, isHead: isHead)
        }
    }

    private func json(_ value: JSONValue, status: Int, isHead: Bool) throws -> Response {
        let status = HTTPResponse.Status(code: status)
        if isHead { return Response(status: status) }
        let data = try value.jsonBytes()
        return Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func errorResponse(_ error: LeaseholdError, isHead: Bool) -> Response {
        let messages: [JSONValue] = error.code == .notFound || error.message.isEmpty ? [] : [.string(error.message)]
        // Encoding an array of strings cannot fail.
        return (try? json(.object(["errors": .array(messages)]), status: HTTPStatus.code(for: error), isHead: isHead))
            ?? Response(status: .internalServerError)
    }
}

extension HTTPField.Name {
    static let vaultToken = Self("X-Vault-Token")!
    static let vaultWrapTTL = Self("X-Vault-Wrap-TTL")!
    static let vaultNamespace = Self("X-Vault-Namespace")!
    static let requestKey = Self("X-Request-Key")!
}
