import LeaseholdAuth
import LeaseholdCore

/// The configuration of a `kubernetes` mount: the API server that reviews tokens (and the reviewer JWT it is
/// called with), or, without a server, the PEM keys that verify tokens offline.
///
/// The reviewer JWT is a ``SecretValue``: stored only inside the encrypted entry, never returned (reads show
/// `token_reviewer_jwt_set`), never printed.
struct KubernetesAuthConfig: Codable, Sendable {
    var host: String
    var caCertificatePEM: String
    var reviewerJWT: SecretValue?
    var pemKeys: [String]
    var issuer: String
    var disablesIssuerValidation: Bool

    /// The issuer of legacy service-account tokens, checked when issuer validation is on and none is configured.
    static let defaultIssuer = "kubernetes/serviceaccount"
    static let maximumPEMKeys = 16

    /// Parses a configuration write (a full replacement, as in Vault).
    init(parsing data: RequestData) throws {
        host = try data.string("kubernetes_host") ?? ""
        caCertificatePEM = try data.string("kubernetes_ca_cert") ?? ""
        let reviewer = try data.string("token_reviewer_jwt") ?? ""
        reviewerJWT = reviewer.isEmpty ? nil : SecretValue(reviewer)
        pemKeys = try data.stringList("pem_keys") ?? []
        issuer = try data.string("issuer") ?? ""
        disablesIssuerValidation = try data.bool("disable_iss_validation") ?? true
        guard !host.isEmpty || !pemKeys.isEmpty else {
            throw LeaseholdError.invalidRequest("one of kubernetes_host or pem_keys must be set")
        }
        if !host.isEmpty, !host.lowercased().hasPrefix("https://") {
            throw LeaseholdError.invalidRequest("kubernetes_host must be an https:// URL")
        }
        guard reviewer.utf8.count <= CompactJWT.maximumLength else {
            throw LeaseholdError.invalidRequest("token_reviewer_jwt is too long")
        }
        guard pemKeys.count <= Self.maximumPEMKeys else {
            throw LeaseholdError.invalidRequest("at most \(Self.maximumPEMKeys) pem_keys are accepted")
        }
        do {
            try TrustedCertificates.validate(caCertificatePEM, field: "kubernetes_ca_cert")
            for pem in pemKeys { _ = try VerificationKey(pem: pem) }
        } catch {
            throw IdentityLogin.invalid(error)
        }
    }

    /// The reviewer for `kubernetes_host`, or `nil` when tokens are verified offline.
    var reviewer: KubernetesTokenReviewer? {
        host.isEmpty ? nil : KubernetesTokenReviewer(host: host, trustedCAPEM: caCertificatePEM)
    }

    /// The keys that verify tokens offline.
    var verificationKeys: [VerificationKey] { ParsedKeyCache.shared.keys(for: pemKeys) }

    /// The issuer tokens must name (empty: not checked).
    var expectedIssuer: String {
        disablesIssuerValidation ? "" : (issuer.isEmpty ? Self.defaultIssuer : issuer)
    }

    /// The fields of a configuration read: never the reviewer JWT.
    var json: [String: JSONValue] {
        [
            "kubernetes_host": .string(host), "kubernetes_ca_cert": .string(caCertificatePEM), "pem_keys": .strings(pemKeys),
            "issuer": .string(issuer), "disable_iss_validation": .bool(disablesIssuerValidation),
            "disable_local_ca_jwt": true, "token_reviewer_jwt_set": .bool(reviewerJWT != nil),
        ]
    }

    /// A warning for configurations without a TokenReview server.
    var warnings: [String] {
        host.isEmpty
            ? ["kubernetes_host is not set: tokens are verified offline against pem_keys, so the tokens of a deleted service account keep working until they expire"]
            : []
    }
}
