import Crypto
import Foundation
import LeaseholdCore
import SwiftASN1
import X509

/// Who a verified client certificate says its holder is. Every field comes from the certificate that was
/// verified, never from anything else the client sent.
public struct ClientCertificateIdentity: Sendable, Equatable {
    /// The subject's common name ("" when absent).
    public var commonName: String
    /// The serial number, colon-separated hex as Vault prints it (leading zero bytes dropped).
    public var serialNumber: String
    /// The subject key identifier, colon-separated hex ("" when absent).
    public var subjectKeyID: String
    /// The authority key identifier, colon-separated hex ("" when absent).
    public var authorityKeyID: String
    /// SHA-256 of the whole DER certificate, lowercase hex: binds tokens to this exact certificate.
    public var fingerprint: String
}

/// Why a client certificate was refused. The reason is for logs and tests; callers answer clients generically.
public struct ClientCertificateRejection: Error, Sendable, CustomStringConvertible {
    /// What failed (no certificate content beyond public names).
    public let description: String

    init(_ description: String) { self.description = description }
}

/// Name constraints of a trusted-certificate entry: each non-empty list must match (globs with `*`).
public struct ClientCertificateConstraints: Sendable, Codable, Hashable {
    /// Allowed subject common names.
    public var commonNames: [String] = []
    /// Allowed names of any kind (Vault's deprecated `allowed_names`): the common name, a DNS or an email subject
    /// alternative name (`nil`, like empty, is no constraint: entries stored before it existed have none).
    public var names: [String]?
    /// Allowed DNS subject alternative names (any one matching suffices).
    public var dnsNames: [String] = []
    /// Allowed email subject alternative names, any one matching sufficing (`nil` as for ``names``).
    public var emailAddresses: [String]?
    /// Allowed URI subject alternative names, e.g. SPIFFE ids.
    public var uris: [String] = []
    /// Allowed organizational units.
    public var organizationalUnits: [String] = []

    /// Creates constraints (empty lists: no constraint of that kind).
    public init(
        commonNames: [String] = [], names: [String] = [], dnsNames: [String] = [], emailAddresses: [String] = [],
        uris: [String] = [], organizationalUnits: [String] = []
    ) {
        self.commonNames = commonNames
        self.names = names.isEmpty ? nil : names
        self.dnsNames = dnsNames
        self.emailAddresses = emailAddresses.isEmpty ? nil : emailAddresses
        self.uris = uris
        self.organizationalUnits = organizationalUnits
    }
}

/// Verifies a presented client certificate against one trusted entry: a PEM bundle of CA certificates and/or
/// pinned leaf certificates.
///
/// - A pinned (non-CA) certificate matches only the byte-identical certificate (CVE-2024-2048): same serial or
///   same subject with another key is not enough.
/// - Otherwise the chain must verify up to one of the entry's CA certificates with swift-certificates (signature,
///   validity period, basic constraints, name constraints).
/// - Either way the certificate must be inside its validity period and, when it has an extended key usage
///   extension, allow `clientAuth`.
/// - Revoked serial numbers (from the entry's CRLs) are refused.
public struct ClientCertificateVerifier: Sendable {
    private let authorities: [Certificate]
    private let pinned: [[UInt8]]
    /// The entry's name constraints.
    public let constraints: ClientCertificateConstraints

    /// Parses the trusted PEM bundle; throws when it holds no certificate.
    public init(trustedPEM: String, constraints: ClientCertificateConstraints = ClientCertificateConstraints()) throws {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: trustedPEM)
        } catch {
            throw ClientCertificateRejection("the certificate is not valid PEM")
        }
        var authorities: [Certificate] = []
        var pinned: [[UInt8]] = []
        for document in documents where document.discriminator == "CERTIFICATE" {
            guard let certificate = try? Certificate(derEncoded: document.derBytes) else {
                throw ClientCertificateRejection("the certificate is not a valid X.509 certificate")
            }
            if Self.isAuthority(certificate) {
                authorities.append(certificate)
            } else {
                pinned.append(document.derBytes)
            }
        }
        guard !authorities.isEmpty || !pinned.isEmpty else { throw ClientCertificateRejection("no certificate found in the PEM") }
        self.authorities = authorities
        self.pinned = pinned
        self.constraints = constraints
    }

    private static func isAuthority(_ certificate: Certificate) -> Bool {
        if case .isCertificateAuthority = try? certificate.extensions.basicConstraints { return true }
        return false
    }

    /// Verifies `leafDER` at `time`; returns the identity or throws ``ClientCertificateRejection``.
    public func verify(
        leafDER: [UInt8], revokedSerials: Set<String> = [], at time: Date
    ) async throws -> ClientCertificateIdentity {
        guard leafDER.count <= 64 * 1024, let leaf = try? Certificate(derEncoded: leafDER) else {
            throw ClientCertificateRejection("the client certificate could not be parsed")
        }
        guard leaf.notValidBefore <= time, time <= leaf.notValidAfter else {
            throw ClientCertificateRejection("the client certificate is outside its validity period")
        }
        try Self.checkClientAuthenticationUsage(leaf)
        if !pinned.contains(where: { $0 == leafDER }) {
            guard !authorities.isEmpty else { throw ClientCertificateRejection("the client certificate is not the pinned certificate") }
            var verifier = Verifier(rootCertificates: CertificateStore(authorities)) {
                RFC5280Policy(validationTime: time)
                ClientAuthenticationUsagePolicy()
            }
            guard case .validCertificate = await verifier.validate(leaf: leaf, intermediates: CertificateStore()) else {
                throw ClientCertificateRejection("the client certificate does not chain to a trusted certificate")
            }
        }
        let identity = Self.identity(of: leaf, der: leafDER)
        guard !revokedSerials.contains(identity.serialNumber) else {
            throw ClientCertificateRejection("the client certificate is revoked")
        }
        try checkConstraints(leaf)
        return identity
    }

    static func checkClientAuthenticationUsage(_ certificate: Certificate) throws {
        guard let usage = try? certificate.extensions.extendedKeyUsage else {
            if certificate.extensions[oid: .X509ExtensionID.extendedKeyUsage] != nil {
                throw ClientCertificateRejection("the client certificate's extended key usage is malformed")
            }
            return
        }
        guard usage.contains(.clientAuth) || usage.contains(.any) else {
            throw ClientCertificateRejection("the client certificate is not valid for client authentication")
        }
    }

    private func checkConstraints(_ leaf: Certificate) throws {
        let names = (try? leaf.extensions.subjectAlternativeNames).map(Array.init) ?? []
        let commonName = Self.attributes(.RDNAttributeType.commonName, of: leaf).first ?? ""
        let dnsNames = names.compactMap { if case .dnsName(let name) = $0 { name } else { nil } }
        let emailAddresses = names.compactMap { if case .rfc822Name(let address) = $0 { address } else { nil } }
        let checks: [(patterns: [String], values: [String], what: String)] = [
            (constraints.commonNames, [commonName], "common name"),
            (constraints.names ?? [], [commonName] + dnsNames + emailAddresses, "name"),
            (constraints.dnsNames, dnsNames, "DNS name"),
            (constraints.emailAddresses ?? [], emailAddresses, "email address"),
            (constraints.uris, names.compactMap { if case .uniformResourceIdentifier(let uri) = $0 { uri } else { nil } }, "URI"),
            (constraints.organizationalUnits, Self.attributes(.RDNAttributeType.organizationalUnitName, of: leaf), "organizational unit"),
        ]
        for check in checks where !check.patterns.isEmpty {
            guard check.values.contains(where: { WildcardPattern.anyMatches(check.patterns, $0) }) else {
                throw ClientCertificateRejection("the client certificate's \(check.what) is not allowed")
            }
        }
    }

    static func attributes(_ type: ASN1ObjectIdentifier, of certificate: Certificate) -> [String] {
        certificate.subject.flatMap { $0 }.filter { $0.type == type }.compactMap { String($0.value) }
    }

    /// The SHA-256 fingerprint of a DER certificate, lowercase hex.
    public static func fingerprint(of der: [UInt8]) -> String {
        Data(SHA256.hash(data: der)).hexString
    }

    static func identity(of certificate: Certificate, der: [UInt8]) -> ClientCertificateIdentity {
        ClientCertificateIdentity(
            commonName: attributes(.RDNAttributeType.commonName, of: certificate).first ?? "",
            serialNumber: RevocationList.normalizedSerial(certificate.serialNumber.bytes),
            subjectKeyID: colonHex((try? certificate.extensions.subjectKeyIdentifier)?.keyIdentifier ?? []),
            authorityKeyID: colonHex((try? certificate.extensions.authorityKeyIdentifier)?.keyIdentifier ?? []),
            fingerprint: fingerprint(of: der))
    }

    /// Bytes as lowercase hex pairs separated by colons (Vault's form for serials and key ids).
    public static func colonHex<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
    }
}

/// Requires `clientAuth` (or any usage) in every extended key usage extension of the chain's leaf, and marks the
/// extension as understood so a critical EKU does not fail verification.
struct ClientAuthenticationUsagePolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        do {
            try ClientCertificateVerifier.checkClientAuthenticationUsage(chain.leaf)
            return .meetsPolicy
        } catch {
            return .failsToMeetPolicy(reason: "the leaf is not valid for client authentication")
        }
    }
}
