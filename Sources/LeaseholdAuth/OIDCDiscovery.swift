import Foundation

/// The parts of an OpenID Provider's discovery document Leasehold uses.
public struct OIDCProviderMetadata: Sendable, Hashable, Codable {
    /// The provider's issuer, which equals the discovery URL and every token's `iss`.
    public var issuer: String
    /// Where the provider publishes its signing keys.
    public var jwksURI: String

    /// Creates metadata.
    public init(issuer: String, jwksURI: String) {
        self.issuer = issuer
        self.jwksURI = jwksURI
    }

    /// Fetches `<discoveryURL>/.well-known/openid-configuration` and checks that its `issuer` is `discoveryURL`
    /// (OpenID Connect Discovery §4.3), so a document served for another issuer is refused.
    public static func discover(
        _ discoveryURL: String, trustedCAPEM: String, client: OutboundHTTPClient
    ) async throws(JWTValidationError) -> OIDCProviderMetadata {
        let failure = JWTValidationError.configuration("error checking oidc discovery URL")
        let base = discoveryURL.hasSuffix("/") ? String(discoveryURL.dropLast()) : discoveryURL
        let response: OutboundResponse
        do {
            response = try await client.get(base + "/.well-known/openid-configuration", trustedCAPEM: trustedCAPEM.isEmpty ? nil : trustedCAPEM)
        } catch {
            throw failure
        }
        struct Document: Decodable {
            let issuer: String
            let jwks_uri: String
        }
        guard response.status == 200, let document = try? JSONDecoder().decode(Document.self, from: Data(response.body)),
            document.issuer == discoveryURL, !document.jwks_uri.isEmpty
        else { throw failure }
        return OIDCProviderMetadata(issuer: document.issuer, jwksURI: document.jwks_uri)
    }
}
