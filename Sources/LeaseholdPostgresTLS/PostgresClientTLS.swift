import LeaseholdCore
import NIOSSL

/// The client side of TLS to a PostgreSQL server, for the broker's own store and for target databases alike: one
/// place that turns an `sslmode` and PEM material into what NIOSSL verifies, so the two can never drift apart.
public enum PostgresClientTLS {
    /// The part of the PEM material that could not be used; callers name it in their own words (a URL parameter and
    /// a file, or a configuration field). Never carries the material itself.
    public enum Failure: Error, Equatable, Sendable {
        /// The trust roots are not PEM certificates, or hold none.
        case trustRoots
        /// The client certificate chain is not PEM certificates, or holds none.
        case clientCertificate
        /// The client private key is not a PEM private key.
        case clientKey
        /// Only one of the client certificate and its private key was given.
        case unpairedClientIdentity
    }

    /// The NIOSSL client configuration for `mode`, or `nil` for ``LeaseholdCore/PostgresSSLMode/disable``.
    ///
    /// With trust roots, `require` verifies the chain, as in libpq (``LeaseholdCore/PostgresSSLMode/effective(hasCA:)``);
    /// without them, verification uses the system roots. The client certificate and key go together or not at all.
    public static func configuration(
        mode: PostgresSSLMode, trustRootsPEM: [UInt8]?, clientCertificatePEM: [UInt8]?, clientKeyPEM: SecretValue?
    ) throws(Failure) -> TLSConfiguration? {
        guard mode != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = mode.effective(hasCA: trustRootsPEM != nil).certificateVerification
        if let trustRootsPEM {
            tls.trustRoots = .certificates(try certificates(trustRootsPEM, else: .trustRoots))
        }
        switch (clientCertificatePEM, clientKeyPEM) {
        case (nil, nil):
            break
        case (let certificatePEM?, let keyPEM?):
            tls.certificateChain = try certificates(certificatePEM, else: .clientCertificate).map { .certificate($0) }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.revealed.utf8), format: .pem))
            } catch {
                throw .clientKey
            }
        default:
            throw .unpairedClientIdentity
        }
        return tls
    }

    /// The certificates in `pem` (at least one), or `failure`.
    private static func certificates(_ pem: [UInt8], else failure: Failure) throws(Failure) -> [NIOSSLCertificate] {
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(pem), !certificates.isEmpty else { throw failure }
        return certificates
    }
}

extension PostgresSSLMode {
    /// What NIOSSL checks of the server's certificate in this mode (``disable`` never gets that far).
    var certificateVerification: CertificateVerification {
        verifiesHostName ? .fullVerification : verifiesChain ? .noHostnameVerification : .none
    }
}
