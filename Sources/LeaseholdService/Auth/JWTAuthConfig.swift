import Foundation
import LeaseholdAuth
import LeaseholdCore

/// The configuration of a `jwt`/`oidc` mount: where its signing keys come from (exactly one of static PEM keys,
/// a JWKS URL, or OIDC discovery), the issuer tokens must name, and the accepted algorithms.
struct JWTAuthConfig: Codable, Sendable {
    /// The source of the mount's keys.
    enum KeySource: Codable, Sendable {
        /// `jwt_validation_pubkeys`.
        case publicKeys([String])
        /// `jwks_url` with `jwks_ca_pem`.
        case jwks(url: String, caPEM: String)
        /// `oidc_discovery_url` with `oidc_discovery_ca_pem`, and what discovery found there.
        case discovery(url: String, caPEM: String, metadata: OIDCProviderMetadata)
    }

    var keySource: KeySource
    var boundIssuer: String
    var supportedAlgorithms: [SignatureAlgorithm]
    var defaultRole: String

    static let maximumPublicKeys = 16

    /// Parses a configuration write (a full replacement, as in Vault), fetching a JWKS URL or discovery document
    /// to check it.
    init(parsing data: RequestData, cache: JWKSCache, now: Date) async throws {
        let publicKeys = try data.stringList("jwt_validation_pubkeys") ?? []
        let jwksURL = try data.string("jwks_url") ?? ""
        let discoveryURL = try data.string("oidc_discovery_url") ?? ""
        guard [!publicKeys.isEmpty, !jwksURL.isEmpty, !discoveryURL.isEmpty].filter({ $0 }).count == 1 else {
            throw LeaseholdError.invalidRequest("exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set")
        }
        boundIssuer = try data.string("bound_issuer") ?? ""
        defaultRole = try data.string("default_role") ?? ""
        do {
            let algorithms = try data.stringList("jwt_supported_algs") ?? []
            supportedAlgorithms = algorithms.isEmpty ? SignatureAlgorithm.defaultSupported : try SignatureAlgorithm.parseList(algorithms)
            if !publicKeys.isEmpty {
                guard publicKeys.count <= Self.maximumPublicKeys else {
                    throw JWTValidationError.configuration("at most \(Self.maximumPublicKeys) jwt_validation_pubkeys are accepted")
                }
                for pem in publicKeys { _ = try VerificationKey(pem: pem) }
                keySource = .publicKeys(publicKeys)
            } else if !jwksURL.isEmpty {
                let caPEM = try data.string("jwks_ca_pem") ?? ""
                try TrustedCertificates.validate(caPEM, field: "jwks_ca_pem")
                do {
                    _ = try await cache.load(JWKSCache.Source(url: jwksURL, trustedCAPEM: caPEM), now: now)
                } catch {
                    throw JWTValidationError.configuration("error checking jwks URL")
                }
                keySource = .jwks(url: jwksURL, caPEM: caPEM)
            } else {
                let caPEM = try data.string("oidc_discovery_ca_pem") ?? ""
                try TrustedCertificates.validate(caPEM, field: "oidc_discovery_ca_pem")
                let metadata = try await OIDCProviderMetadata.discover(discoveryURL, trustedCAPEM: caPEM, client: OutboundHTTPClient())
                do {
                    _ = try await cache.load(JWKSCache.Source(url: metadata.jwksURI, trustedCAPEM: caPEM), now: now)
                } catch {
                    throw JWTValidationError.configuration("error checking oidc discovery URL")
                }
                keySource = .discovery(url: discoveryURL, caPEM: caPEM, metadata: metadata)
            }
        } catch let error as JWTValidationError {
            throw IdentityLogin.invalid(error)
        }
    }

    /// The keys that may verify `token`: the static keys, or the provider's keys (refreshed once on an unknown
    /// `kid`, within the cache's rate limit).
    func candidateKeys(for token: CompactJWT, cache: JWKSCache, now: Date) async throws(JWTValidationError) -> [VerificationKey] {
        switch keySource {
        case .publicKeys(let pems):
            return ParsedKeyCache.shared.keys(for: pems)
        case .jwks(let url, let caPEM):
            return try await cache.candidates(for: token, from: JWKSCache.Source(url: url, trustedCAPEM: caPEM), now: now)
        case .discovery(_, let caPEM, let metadata):
            return try await cache.candidates(for: token, from: JWKSCache.Source(url: metadata.jwksURI, trustedCAPEM: caPEM), now: now)
        }
    }

    /// The issuer tokens must name: `bound_issuer`, or the discovered issuer for OIDC discovery.
    var expectedIssuer: String {
        if case .discovery(_, _, let metadata) = keySource, boundIssuer.isEmpty { return metadata.issuer }
        return boundIssuer
    }

    /// The fields of a configuration read.
    var json: [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "jwt_validation_pubkeys": .strings([]), "jwks_url": "", "jwks_ca_pem": "", "oidc_discovery_url": "",
            "oidc_discovery_ca_pem": "", "oidc_client_id": "", "bound_issuer": .string(boundIssuer),
            "jwt_supported_algs": .strings(supportedAlgorithms.map(\.rawValue)), "default_role": .string(defaultRole),
            "provider_config": .object([:]), "status": "valid",
        ]
        switch keySource {
        case .publicKeys(let pems): fields["jwt_validation_pubkeys"] = .strings(pems)
        case .jwks(let url, let caPEM):
            fields["jwks_url"] = .string(url)
            fields["jwks_ca_pem"] = .string(caPEM)
        case .discovery(let url, let caPEM, _):
            fields["oidc_discovery_url"] = .string(url)
            fields["oidc_discovery_ca_pem"] = .string(caPEM)
        }
        return fields
    }
}
