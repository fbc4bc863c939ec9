import AsyncHTTPClient
import Foundation
import LeaseholdCore
import NIOCore
import NIOHTTP1
import NIOSSL

/// An HTTP response from an identity provider, its body already bounded.
public struct OutboundResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The body bytes (at most the client's `maximumResponseBytes`).
    public var body: [UInt8]
}

/// HTTPS calls to identity providers (JWKS, OIDC discovery, Kubernetes TokenReview).
///
/// Redirects are not followed (a provider's URL is configured, not discovered).
/// Every call verifies the server against `trustedCAPEM` when given (the system roots otherwise), has a deadline,
/// and refuses responses larger than `maximumResponseBytes`, so a hostile or broken provider cannot hold a login
/// forever or fill memory. Plain `http://` URLs are refused.
public struct OutboundHTTPClient: Sendable {
    /// The deadline of one call, connection included.
    public var timeout: Duration
    /// The largest accepted response body.
    public var maximumResponseBytes: Int

    /// Creates a client over the process-wide AsyncHTTPClient.
    public init(timeout: Duration = .seconds(10), maximumResponseBytes: Int = 1 << 20) {
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// `GET url`.
    public func get(_ url: String, trustedCAPEM: String? = nil) async throws -> OutboundResponse {
        try await send(url, method: .GET, body: nil, trustedCAPEM: trustedCAPEM, bearer: nil)
    }

    /// `POST url` with a JSON body.
    public func post(
        _ url: String, json: [UInt8], trustedCAPEM: String? = nil, bearer: SecretValue? = nil
    ) async throws -> OutboundResponse {
        try await send(url, method: .POST, body: json, trustedCAPEM: trustedCAPEM, bearer: bearer)
    }

    /// One process-wide client that fails fast: a refused connection or an untrusted certificate is an answer,
    /// not something to retry until the deadline.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Parsed CA bundles by PEM text (a TokenReview login would otherwise parse the same bundle every time).
    private static let parsedRoots = BoundedCache<String, [NIOSSLCertificate]>(capacity: 256)

    private static func trustRoots(_ pem: String) throws -> [NIOSSLCertificate] {
        let certificates = try parsedRoots.value(for: pem) {
            do {
                return try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
            } catch {
                throw OutboundHTTPError("the CA certificate is not valid PEM")
            }
        }
        return certificates ?? []
    }

    private func send(
        _ url: String, method: HTTPMethod, body: [UInt8]?, trustedCAPEM: String?, bearer: SecretValue?
    ) async throws -> OutboundResponse {
        guard let parsed = URL(string: url), parsed.scheme?.lowercased() == "https", parsed.host != nil else {
            throw OutboundHTTPError("the URL must be an https:// URL")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer " + bearer.revealed) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let trustedCAPEM, !trustedCAPEM.isEmpty { tls.trustRoots = .certificates(try Self.trustRoots(trustedCAPEM)) }
        request.tlsConfiguration = tls
        // One deadline for the whole exchange: AsyncHTTPClient's own covers the response head only, and a server
        // that sends its head and then stalls the body would hold the login (and every login waiting on it).
        let limit = maximumResponseBytes
        return try await withDeadline(
            timeout, timeoutError: OutboundHTTPError("the identity provider did not answer within \(timeout)")
        ) { [request, timeout] in
            let response: HTTPClientResponse
            do {
                response = try await Self.client.execute(request, timeout: TimeAmount(timeout))
            } catch {
                throw OutboundHTTPError("the identity provider could not be reached")
            }
            var collected: ByteBuffer
            do {
                collected = try await response.body.collect(upTo: limit)
            } catch {
                throw OutboundHTTPError("the identity provider's response was too large or incomplete")
            }
            return OutboundResponse(status: Int(response.status.code), body: collected.readBytes(length: collected.readableBytes) ?? [])
        }
    }
}

/// A failed call to an identity provider. The message names no secret and no response content.
public struct OutboundHTTPError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, safe to show.
    public let description: String

    init(_ description: String) { self.description = description }
}

extension Duration {
    /// The duration in whole nanoseconds.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
