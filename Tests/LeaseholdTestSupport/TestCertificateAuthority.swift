import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate and its private key, generated in the test process (nothing is committed).
public struct IssuedCertificate: Sendable {
    /// The certificate.
    public let certificate: Certificate
    /// Its private key.
    public let privateKey: P256.Signing.PrivateKey

    /// The certificate as PEM.
    public var certificatePEM: String { try! certificate.serializeAsPEM().pemString }
    /// The private key as PKCS#8 PEM.
    public var privateKeyPEM: String { privateKey.pemRepresentation }
    /// The certificate's DER bytes.
    public var derBytes: [UInt8] {
        var serializer = DER.Serializer()
        try! serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// Writes `<name>.pem` and `<name>-key.pem` into `directory` and returns their paths.
    public func write(to directory: URL, name: String) throws -> (certificate: String, key: String) {
        let certificateURL = directory.appendingPathComponent("\(name).pem")
        let keyURL = directory.appendingPathComponent("\(name)-key.pem")
        try certificatePEM.write(to: certificateURL, atomically: true, encoding: .utf8)
        try privateKeyPEM.write(to: keyURL, atomically: true, encoding: .utf8)
        return (certificateURL.path, keyURL.path)
    }
}

/// An in-process certificate authority for TLS and mTLS tests: issues server and client certificates with chosen
/// names, usages and validity, so every certificate a test needs is made at run time.
public struct TestCertificateAuthority: Sendable {
    /// The CA certificate and key.
    public let root: IssuedCertificate

    /// The CA certificate as PEM.
    public var certificatePEM: String { root.certificatePEM }

    /// Creates a self-signed CA valid from an hour ago for 30 days.
    public init(commonName: String = "Leasehold Test CA") throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Leasehold tests")
            CommonName(commonName)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 30 * 86400, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        root = IssuedCertificate(certificate: certificate, privateKey: key)
    }

    /// Issues a certificate signed by this CA (or self-signed with `selfSigned`).
    ///
    /// - Parameters:
    ///   - commonName: the subject's CN.
    ///   - organizationalUnit: an optional OU.
    ///   - dnsNames: DNS subject alternative names.
    ///   - emailAddresses: email (RFC 822) subject alternative names.
    ///   - uris: URI subject alternative names (SPIFFE ids).
    ///   - ipAddresses: IPv4 subject alternative names, dotted.
    ///   - usages: extended key usages (`[]` leaves the extension out).
    ///   - notValidBefore: start of validity.
    ///   - notValidAfter: end of validity.
    ///   - key: the subject's key (a fresh one by default).
    ///   - selfSigned: sign with the subject's own key and name instead of the CA's.
    public func issue(
        commonName: String, organizationalUnit: String? = nil, dnsNames: [String] = [], emailAddresses: [String] = [],
        uris: [String] = [], ipAddresses: [String] = [], usages: [ExtendedKeyUsage.Usage] = [.clientAuth],
        notValidBefore: Date = Date() - 3600, notValidAfter: Date = Date() + 86400,
        key: P256.Signing.PrivateKey = P256.Signing.PrivateKey(), selfSigned: Bool = false
    ) throws -> IssuedCertificate {
        let subject = try DistinguishedName {
            OrganizationName("Leasehold tests")
            if let organizationalUnit { OrganizationalUnitName(organizationalUnit) }
            CommonName(commonName)
        }
        var names: [GeneralName] =
            dnsNames.map { .dnsName($0) } + emailAddresses.map { .rfc822Name($0) } + uris.map { .uniformResourceIdentifier($0) }
        for address in ipAddresses {
            names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.split(separator: ".").compactMap { UInt8($0) }))))
        }
        let signingKey = selfSigned ? key : root.privateKey
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            if !usages.isEmpty { try ExtendedKeyUsage(usages) }
            if !names.isEmpty { SubjectAlternativeNames(names) }
            SubjectKeyIdentifier(hash: .init(key.publicKey))
            if !selfSigned {
                AuthorityKeyIdentifier(keyIdentifier: try root.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            }
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: notValidBefore, notValidAfter: notValidAfter,
            issuer: selfSigned ? subject : root.certificate.subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(signingKey))
        return IssuedCertificate(certificate: certificate, privateKey: key)
    }

    /// A server certificate for `localhost` and `127.0.0.1`.
    public func issueServer(commonName: String = "localhost") throws -> IssuedCertificate {
        try issue(commonName: commonName, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], usages: [.serverAuth])
    }

    /// A PEM CRL signed by this CA that revokes `certificates`, made with the system's openssl.
    public func makeCRL(revoking certificates: [IssuedCertificate]) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("leasehold-crl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try root.write(to: directory, name: "ca")
        let revokedEntries: String = certificates.map { certificate in
            let serial = certificate.certificate.serialNumber.bytes.map { String(format: "%02X", $0) }.joined()
            return "R\t301231235959Z\t240101000000Z\t\(serial)\tunknown\t/CN=revoked\n"
        }.joined()
        try revokedEntries.write(to: directory.appendingPathComponent("index.txt"), atomically: true, encoding: .utf8)
        try "01\n".write(to: directory.appendingPathComponent("crlnumber"), atomically: true, encoding: .utf8)
        try """
            [ca]
            default_ca = test
            [test]
            database = \(directory.path)/index.txt
            crlnumber = \(directory.path)/crlnumber
            default_md = sha256
            default_crl_days = 1
            """.write(to: directory.appendingPathComponent("ca.cnf"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["ca", "-gencrl", "-config", directory.path + "/ca.cnf", "-cert", files.certificate, "-keyfile", files.key, "-out", directory.path + "/crl.pem"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        return try String(contentsOf: directory.appendingPathComponent("crl.pem"), encoding: .utf8)
    }
}
