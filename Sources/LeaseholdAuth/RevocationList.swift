import Foundation
import SwiftASN1

/// The revoked serial numbers of an X.509 CRL (RFC 5280 §5), as colon-separated hex without leading zero bytes.
///
/// An operator uploads CRLs through an authenticated, audited endpoint; the list is parsed strictly (DER under
/// PEM, bounded size) and stored, so a revoked certificate is refused from the first request after a restart.
public struct RevocationList: Sendable, Codable, Hashable {
    /// The revoked serial numbers.
    public var revokedSerials: Set<String>

    /// Parses a PEM (`X509 CRL`) or raw DER CRL.
    public init(pem: String) throws {
        guard pem.utf8.count <= 4 * 1024 * 1024 else { throw ClientCertificateRejection("the CRL is too large") }
        guard let document = try? PEMDocument(pemString: pem), document.discriminator == "X509 CRL" else {
            throw ClientCertificateRejection("the CRL is not a PEM \"X509 CRL\" document")
        }
        try self.init(der: document.derBytes)
    }

    /// Parses a DER CRL.
    public init(der: [UInt8]) throws {
        let invalid = ClientCertificateRejection("the CRL could not be parsed")
        guard let root = try? DER.parse(der), case .constructed(let list) = root.content,
            let tbs = list.first(where: { _ in true }), case .constructed(let fields) = tbs.content
        else { throw invalid }
        // TBSCertList: version?, signature, issuer, thisUpdate, nextUpdate?, revokedCertificates?, [0] extensions?
        // Its SEQUENCE fields are, in order, the signature algorithm, the issuer and the revoked list.
        let sequences = fields.filter { $0.identifier == .sequence }
        var serials: Set<String> = []
        if sequences.count >= 3, case .constructed(let entries) = sequences[2].content {
            for entry in entries {
                guard case .constructed(let entryFields) = entry.content, let serial = entryFields.first(where: { _ in true }),
                    serial.identifier == .integer, case .primitive(let bytes) = serial.content
                else { throw invalid }
                serials.insert(Self.normalizedSerial(bytes))
            }
        }
        revokedSerials = serials
    }

    /// A serial number's bytes as colon-separated lowercase hex, leading zero bytes dropped.
    public static func normalizedSerial<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        let significant = bytes.drop { $0 == 0 }
        return ClientCertificateVerifier.colonHex(significant.isEmpty ? [0] : Array(significant))
    }
}
