import Foundation
import LeaseholdCore
import LeaseholdPolicy
import LeaseholdSeal

/// A request as the broker sees it, after the HTTP layer translated verb, path, headers and body.
public struct LogicalRequest: Sendable {
    /// The operation derived from the HTTP verb (`create` vs `update` is refined by the backend's existence check).
    public var operation: LogicalOperation
    /// The normalized API path without `/v1/` (see `RequestPath.normalize`). The ACL and the router both use it.
    public var path: String
    /// Body fields (or query parameters for reads, lists and deletes).
    public var data: RequestData
    /// The client token from `X-Vault-Token` or `Authorization: Bearer`.
    public var clientToken: SecretValue?
    /// The requested wrapping TTL from `X-Vault-Wrap-TTL`.
    public var wrapTTL: TTL?
    /// The client's address.
    public var remoteAddress: String
    /// A unique id for this request, returned to the client and recorded in audit rows.
    public var requestID: String
    /// An idempotency key (`X-Request-Key`): the same identity and key get the same credential back.
    public var requestKey: String?
    /// The client certificate presented over TLS (unverified; `auth/cert` verifies it), fetched only when a
    /// handler asks: most requests never need it.
    public var clientCertificate: PresentedCertificate

    /// Creates a request.
    public init(
        operation: LogicalOperation, path: String, data: RequestData = RequestData(), clientToken: SecretValue? = nil,
        wrapTTL: TTL? = nil, remoteAddress: String = "", requestID: String = SecureRandom.uuid(),
        requestKey: String? = nil, clientCertificate: PresentedCertificate = .none
    ) {
        self.clientCertificate = clientCertificate
        self.requestKey = requestKey
        self.operation = operation
        self.path = path
        self.data = data
        self.clientToken = clientToken
        self.wrapTTL = wrapTTL
        self.remoteAddress = remoteAddress
        self.requestID = requestID
    }
}

/// The client certificate of a request's connection, as DER, read from the TLS layer on demand.
public struct PresentedCertificate: Sendable {
    private let fetch: @Sendable () async -> [UInt8]?

    /// A certificate read by `fetch` when first needed (each call reads again; callers ask at most once).
    public init(_ fetch: @escaping @Sendable () async -> [UInt8]?) { self.fetch = fetch }

    /// A fixed certificate (tests).
    public init(der: [UInt8]) { self.fetch = { der } }

    /// No certificate (plaintext listeners, in-process requests).
    public static let none = PresentedCertificate { nil }

    /// The DER bytes, or `nil` when the client presented none.
    public func der() async -> [UInt8]? { await fetch() }
}
