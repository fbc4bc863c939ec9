import AsyncHTTPClient
import Foundation
import LeaseholdCore
import LeaseholdService
import NIOCore
import NIOPosix
import NIOSSL

/// POSTs each row as one JSON object and counts it delivered on a 2xx answer.
///
/// Every request carries `X-Leasehold-Audit-Sequence: <sequence>`: a row whose answer was lost is sent again with
/// the same value, so receivers can drop the repeat. Redirects are not followed (the configured headers, which may
/// hold credentials, go only to the configured URL). Each call has a deadline.
final class WebhookAuditSink: AuditSink {
    private let url: String
    private let headers: [String: String]
    private let format: AuditEntryFormat
    private let client: HTTPClient
    private let timeout: Duration = .seconds(10)

    init(url: URL, trust: AuditSinkSettings.TrustedCertificates, headers: [String: String], format: AuditEntryFormat) throws {
        self.url = url.absoluteString
        self.headers = headers
        self.format = format
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.trustRoots = try TrustedRoots.load(trust)
        client = HTTPClient(
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            configuration: HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow))
    }

    func deliver(_ records: [AuditRecord]) async throws(AuditDeliveryFailure) {
        for (index, record) in records.enumerated() {
            do {
                try await post(record)
            } catch let failure as AuditDeliveryFailure {
                throw AuditDeliveryFailure(delivered: index, reason: failure.reason)
            } catch {
                throw AuditDeliveryFailure(delivered: index, reason: StreamAuditSink.reason(error))
            }
        }
    }

    func close() async { try? await client.shutdown() }

    private func post(_ record: AuditRecord) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "X-Leasehold-Audit-Sequence", value: String(record.sequence))
        request.body = .bytes(ByteBuffer(bytes: try format.json(record)))
        // One deadline for the whole exchange, body included (the client's own covers the response head only).
        let timeout = timeout
        let status = try await withDeadline(
            timeout, timeoutError: AuditDeliveryFailure(delivered: 0, reason: "no answer within \(timeout)")
        ) { [client, request, timeout] in
            let response = try await client.execute(request, timeout: TimeAmount(timeout))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return response.status.code
        }
        guard (200..<300).contains(status) else {
            throw AuditDeliveryFailure(delivered: 0, reason: "HTTP status \(status)")
        }
    }
}
