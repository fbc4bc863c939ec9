import AsyncHTTPClient
import Foundation
import LeaseholdCore
import NIOCore
import NIOHTTP1
import NIOSSL

/// A minimal Vault-API client for the CLI.
struct APIClient {
    let address: String
    let token: String?
    let tlsConfiguration: TLSConfiguration

    init(address: String, token: String?, caCertificate: String?, clientCertificate: String?, clientKey: String?, skipVerify: Bool) throws {
        self.address = address.hasSuffix("/") ? String(address.dropLast()) : address
        self.token = token
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caCertificate { tls.trustRoots = .file(caCertificate) }
        if let clientCertificate, let clientKey {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKey, format: .pem))
        }
        if skipVerify { tls.certificateVerification = .none }
        self.tlsConfiguration = tls
    }

    /// A server reply: status and parsed JSON body (if any).
    struct Reply {
        var status: Int
        var body: JSONValue?

        /// The `data` object of an envelope.
        var data: [String: JSONValue]? { body?.objectValue?["data"]?.objectValue }
    }

    /// Sends a request and returns the reply; error statuses become `ClientError`.
    func send(
        _ method: String, _ path: String, body: [String: JSONValue]? = nil, headers: [String: String] = [:],
        allowedStatuses: Set<Int> = []
    ) async throws -> Reply {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tlsConfiguration)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(90))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var request = HTTPClientRequest(url: address + "/v1/" + path)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "X-Vault-Request", value: "true")
        if let token { request.headers.add(name: "X-Vault-Token", value: token) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(JSONValue.object(body))))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let status: Int
        let buffer: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .seconds(90))
            status = Int(response.status.code)
            buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw ClientError(message: "cannot reach \(address): \(error)")
        }
        let parsed = buffer.readableBytes == 0 ? nil : try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView))
        if status >= 400 && !allowedStatuses.contains(status) {
            let errors: [String] = parsed?.objectValue?["errors"].flatMap { value -> [String]? in
                guard case .array(let items) = value else { return nil }
                return items.compactMap(\.stringValue)
            } ?? []
            throw ClientError(message: "Error making API request: \(method) \(path): Code: \(status)"
                + (errors.isEmpty ? "" : ". Errors:\n\n" + errors.map { "* " + $0 }.joined(separator: "\n")))
        }
        return Reply(status: status, body: parsed)
    }
}

/// A client-side failure printed as one line with a non-zero exit status.
struct ClientError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
