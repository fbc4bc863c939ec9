import SwiftASN1
import X509

/// Checks configured CA bundles (`jwks_ca_pem`, `oidc_discovery_ca_pem`, `kubernetes_ca_cert`) when they are
/// written, so a bad bundle is refused at configuration time rather than failing every later login.
public enum TrustedCertificates {
    /// The largest bundle accepted.
    public static let maximumLength = 256 * 1024

    /// Throws a caller-safe error naming `field` unless `pem` is empty or one or more PEM certificates.
    public static func validate(_ pem: String, field: String) throws(JWTValidationError) {
        guard !pem.isEmpty else { return }
        let failure = JWTValidationError.configuration("\(field) is not a valid PEM certificate bundle")
        guard pem.utf8.count <= maximumLength, let documents = try? PEMDocument.parseMultiple(pemString: pem), !documents.isEmpty
        else { throw failure }
        for document in documents {
            guard (try? Certificate(pemDocument: document)) != nil else { throw failure }
        }
    }
}
