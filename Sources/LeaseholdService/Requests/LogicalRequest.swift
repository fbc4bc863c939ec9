import Foundation
import LeaseholdCore
import LeaseholdPolicy

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
    /// The DER client certificate the client presented over TLS (unverified; `auth/cert` verifies it).
    public var clientCertificate: [UInt8]?

    /// Creates a request.
    public init(
        operation: LogicalOperation, path: String, data: RequestData = RequestData(), clientToken: SecretValue? = nil,
        wrapTTL: TTL? = nil, remoteAddress: String = "", requestID: String = UUID().uuidString.lowercased(),
        requestKey: String? = nil, clientCertificate: [UInt8]? = nil
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
