import Foundation
import LeaseholdCore

/// Asks a Kubernetes API server whether a service-account token is valid:
/// `POST {host}/apis/authentication.k8s.io/v1/tokenreviews`.
///
/// The call authenticates with `bearer` (the configured reviewer JWT, or the client's own token), verifies the
/// server against the configured CA, and accepts the answer only when `status.authenticated` is true, the user
/// is `system:serviceaccount:<namespace>:<name>` with a UID, and — when an audience was asked for — the
/// returned `status.audiences` contains it. An unreachable server is ``JWTValidationError/providerUnavailable``,
/// a refused audience ``JWTValidationError/audienceMismatch``, any other refusal ``JWTValidationError/badSignature``.
public struct KubernetesTokenReviewer: Sendable {
    /// The API server's base URL (`https://…:6443`).
    public var host: String
    /// The CA certificates (PEM) trusted for the API server; empty for the system roots.
    public var trustedCAPEM: String
    /// The HTTPS client.
    public var client: OutboundHTTPClient

    /// Creates a reviewer.
    public init(host: String, trustedCAPEM: String, client: OutboundHTTPClient = OutboundHTTPClient(maximumResponseBytes: 64 * 1024)) {
        self.host = host
        self.trustedCAPEM = trustedCAPEM
        self.client = client
    }

    private struct Review: Encodable {
        struct Spec: Encodable {
            let token: String
            let audiences: [String]?
        }
        let apiVersion = "authentication.k8s.io/v1"
        let kind = "TokenReview"
        let spec: Spec
    }

    private struct Answer: Decodable {
        struct Status: Decodable {
            struct User: Decodable {
                let username: String?
                let uid: String?
            }
            let authenticated: Bool?
            let user: User?
            let audiences: [String]?
            let error: String?
        }
        let status: Status?
    }

    /// Reviews `token`, asking for `audience` when it is not empty, and returns the service account it names.
    public func review(_ token: SecretValue, audience: String, bearer: SecretValue) async throws(JWTValidationError) -> ServiceAccountIdentity {
        let base = host.hasSuffix("/") ? String(host.dropLast()) : host
        let request = Review(spec: .init(token: token.revealed, audiences: audience.isEmpty ? nil : [audience]))
        let response: OutboundResponse
        do {
            response = try await client.post(
                base + "/apis/authentication.k8s.io/v1/tokenreviews", json: Array(try JSONEncoder().encode(request)),
                trustedCAPEM: trustedCAPEM.isEmpty ? nil : trustedCAPEM, bearer: bearer)
        } catch {
            throw .providerUnavailable
        }
        guard response.status == 200 || response.status == 201,
            let status = (try? JSONDecoder().decode(Answer.self, from: Data(response.body)))?.status,
            status.authenticated == true, status.error?.isEmpty ?? true,
            let username = status.user?.username, let uid = status.user?.uid
        else { throw .badSignature }
        if !audience.isEmpty, !(status.audiences ?? []).contains(audience) { throw .audienceMismatch }
        let parts = username.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "system", parts[1] == "serviceaccount" else { throw .badSignature }
        return try ServiceAccountIdentity(namespace: String(parts[2]), name: String(parts[3]), uid: uid)
    }
}
