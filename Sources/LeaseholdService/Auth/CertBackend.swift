import Foundation
import LeaseholdAuth
import LeaseholdCore

/// A trusted-certificate entry of the cert auth method (`certs/:name`).
struct CertRole: Codable, Sendable {
    var name: String
    /// CA and/or pinned leaf certificates (PEM).
    var certificate: String
    var constraints: ClientCertificateConstraints
    var displayName: String
    /// Whether a request presenting a matching certificate is authenticated without a login call.
    var directAuthentication: Bool
    var token: TokenSettings

    var json: [String: JSONValue] {
        var fields = token.json
        fields["certificate"] = .string(certificate)
        fields["allowed_common_names"] = .strings(constraints.commonNames)
        fields["allowed_names"] = .strings(constraints.names ?? [])
        fields["allowed_dns_sans"] = .strings(constraints.dnsNames)
        fields["allowed_email_sans"] = .strings(constraints.emailAddresses ?? [])
        fields["allowed_uri_sans"] = .strings(constraints.uris)
        fields["allowed_organizational_units"] = .strings(constraints.organizationalUnits)
        fields["display_name"] = .string(displayName)
        fields["direct_authentication"] = .bool(directAuthentication)
        return fields
    }

    func verifier() throws -> ClientCertificateVerifier {
        try ClientCertificateVerifier(trustedPEM: certificate, constraints: constraints)
    }
}

/// The TLS certificate auth method (`auth/<mount>/…`): trusted certificates with name constraints, CRLs, and
/// `login` with the client certificate of the TLS connection.
///
/// Identity comes only from the verified certificate. Tokens it issues are bound to the certificate's SHA-256
/// fingerprint: renewing one requires presenting the same certificate again.
enum CertBackend {
    static let routes: [Route] = [
        Route("certs", handlers: [.list: listCerts]),
        Route("certs/:name", handlers: [.read: readCert, .update: writeCert, .delete: deleteCert]),
        Route("crls/:name", handlers: [.read: readCRL, .update: writeCRL, .delete: deleteCRL]),
        Route("login", authentication: .none, handlers: [.update: login]),
    ]

    static let noCertificate = LeaseholdError.invalidRequest("no client certificate found")
    static let invalidLogin = LeaseholdError.invalidRequest("invalid certificate or no client certificate supplied")

    static func certKey(_ context: OperationContext, _ name: String) throws -> StoreKey {
        StoreKey(.certRoles, try context.requireMount().path + name)
    }

    static func crlKey(_ context: OperationContext, _ name: String) throws -> StoreKey {
        StoreKey(.certRevocationLists, try context.requireMount().path + name)
    }

    // MARK: Trusted certificates

    static func listCerts(_ context: OperationContext) async throws -> LogicalResponse {
        try await context.listMountKeys(in: .certRoles)
    }

    static func readCert(_ context: OperationContext) async throws -> LogicalResponse {
        let value = try await context.existing(CertRole.self, at: try certKey(context, try context.name("name")))
        return LogicalResponse(data: value.json)
    }

    static func writeCert(_ context: OperationContext) async throws -> LogicalResponse {
        let name = try context.name("name")
        let key = try certKey(context, name)
        let existing = try await context.services.store.read(CertRole.self, at: key)
        let data = context.data
        var role = existing?.value ?? CertRole(
            name: name, certificate: "", constraints: ClientCertificateConstraints(), displayName: name,
            directAuthentication: false, token: TokenSettings())
        if let certificate = try data.string("certificate") { role.certificate = certificate }
        guard !role.certificate.isEmpty else { throw LeaseholdError.invalidRequest("missing certificate") }
        guard role.certificate.utf8.count <= 256 * 1024 else { throw LeaseholdError.invalidRequest("certificate is too large") }
        if let value = try data.stringList("allowed_common_names") { role.constraints.commonNames = value }
        if let value = try data.stringList("allowed_names") { role.constraints.names = value }
        if let value = try data.stringList("allowed_dns_sans") { role.constraints.dnsNames = value }
        if let value = try data.stringList("allowed_email_sans") { role.constraints.emailAddresses = value }
        if let value = try data.stringList("allowed_uri_sans") { role.constraints.uris = value }
        if let value = try data.stringList("allowed_organizational_units") { role.constraints.organizationalUnits = value }
        if let value = try data.string("display_name"), !value.isEmpty { role.displayName = value }
        if let value = try data.bool("direct_authentication") { role.directAuthentication = value }
        if let required = try data.stringList("required_extensions"), required.contains(where: { !$0.isEmpty }) {
            throw LeaseholdError.invalidRequest("required_extensions is not supported")
        }
        if let extensions = try data.stringList("allowed_metadata_extensions"), extensions.contains(where: { !$0.isEmpty }) {
            throw LeaseholdError.invalidRequest("allowed_metadata_extensions is not supported")
        }
        if try data.bool("ocsp_enabled") == true { throw LeaseholdError.invalidRequest("OCSP is not supported; use crls/:name") }
        role.token = try TokenSettings(parsing: data, over: existing?.value.token)
        do {
            _ = try role.verifier()
        } catch let rejection as ClientCertificateRejection {
            throw LeaseholdError.invalidRequest(rejection.description)
        }
        try context.transaction.put(role, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        return .noContent
    }

    static func deleteCert(_ context: OperationContext) async throws -> LogicalResponse {
        context.transaction.delete(try certKey(context, try context.name("name")))
        return .noContent
    }

    // MARK: CRLs

    static func readCRL(_ context: OperationContext) async throws -> LogicalResponse {
        let value = try await context.existing(RevocationList.self, at: try crlKey(context, try context.name("name")))
        return LogicalResponse(data: ["serials": .object(Dictionary(uniqueKeysWithValues: value.revokedSerials.sorted().map { ($0, .object([:])) }))])
    }

    static func writeCRL(_ context: OperationContext) async throws -> LogicalResponse {
        let pem = try context.data.requiredString("crl")
        let list: RevocationList
        do {
            list = try RevocationList(pem: pem)
        } catch let rejection as ClientCertificateRejection {
            throw LeaseholdError.invalidRequest(rejection.description)
        }
        let key = try crlKey(context, try context.name("name"))
        let existing = try await context.services.store.read(RevocationList.self, at: key)
        try context.transaction.put(list, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        return .noContent
    }

    static func deleteCRL(_ context: OperationContext) async throws -> LogicalResponse {
        context.transaction.delete(try crlKey(context, try context.name("name")))
        return .noContent
    }

    // MARK: Login

    static func login(_ context: OperationContext) async throws -> LogicalResponse {
        guard let der = await context.request.clientCertificate.der() else { throw noCertificate }
        let mount = try context.requireMount()
        let requested = try context.data.string("name").flatMap { $0.isEmpty ? nil : $0 }
        // Client input that becomes a throttle key and a store lookup: an entry name or nothing.
        if let requested, !OperationContext.isValidName(requested) { throw invalidLogin }
        let throttleKey = "\(mount.path)cert|\(requested?.lowercased() ?? "")|\(LoginThrottle.client(context))"
        return try await context.services.loginThrottle.guarding(throttleKey, now: context.now) {
            guard let (role, identity) = try await match(der, mountPath: mount.path, name: requested, services: context.services, now: context.now)
            else {
                // The tried entry is named in the audit row only when it exists: `name` is client input.
                if let requested, try await context.services.store.base.entry(try certKey(context, requested)) != nil {
                    context.transaction.annotate("login_cert_name", requested)
                }
                throw invalidLogin
            }
            context.transaction.annotate("login_cert_name", role.name)
            context.transaction.annotate("certificate_fingerprint", identity.fingerprint)
            return try LoginIssuer.issue(
                role.token, source: try certKey(context, role.name), displayName: role.displayName, metadata: metadata(role: role, identity: identity), context: context,
                boundCertificateFingerprint: identity.fingerprint)
        }
    }

    static func metadata(role: CertRole, identity: ClientCertificateIdentity) -> [String: String] {
        [
            "cert_name": role.name, "common_name": identity.commonName, "serial_number": identity.serialNumber,
            "subject_key_id": identity.subjectKeyID, "authority_key_id": identity.authorityKeyID,
        ]
    }

    /// The first trusted entry of the mount (or the named one) that accepts the certificate, with its identity.
    static func match(
        _ der: [UInt8], mountPath: String, name: String?, services: BrokerServices, now: Date,
        where include: (CertRole) -> Bool = { _ in true }
    ) async throws -> (CertRole, ClientCertificateIdentity)? {
        let keys = try await services.store.base.allKeys(in: .certRoles, prefix: mountPath + (name ?? ""))
        let revoked = try await revokedSerials(mountPath: mountPath, services: services)
        for key in keys where name == nil || key == mountPath + name! {
            guard let role = try await services.store.read(CertRole.self, at: StoreKey(.certRoles, key))?.value, include(role),
                let identity = try? await role.verifier().verify(leafDER: der, revokedSerials: revoked, at: now)
            else { continue }
            return (role, identity)
        }
        return nil
    }

    static func revokedSerials(mountPath: String, services: BrokerServices) async throws -> Set<String> {
        var serials: Set<String> = []
        for key in try await services.store.base.allKeys(in: .certRevocationLists, prefix: mountPath) {
            if let list = try await services.store.read(RevocationList.self, at: StoreKey(.certRevocationLists, key)) {
                serials.formUnion(list.value.revokedSerials)
            }
        }
        return serials
    }

    // MARK: Direct mTLS

    /// The identity of a request that carries no token but a client certificate matching a cert entry with
    /// `direct_authentication`: a transient caller valid for this one request, never stored, whose leases are
    /// not tied to any token.
    static func directCaller(_ der: [UInt8], remoteAddress: String, services: BrokerServices, now: Date) async throws -> TokenEntry? {
        for mount in try await services.mounts.entries(auth: true) where mount.type == "cert" {
            let usable: (CertRole) -> Bool = { role in
                role.directAuthentication
                    && CIDRBlock.allows(role.token.boundCIDRs, remoteAddress)
            }
            guard let (role, identity) = try await match(der, mountPath: mount.path, name: nil, services: services, now: now, where: usable)
            else { continue }
            var policies = Set(role.token.policies)
            if !role.token.noDefaultPolicy { policies.insert("default") }
            return TokenEntry(
                hash: "", accessor: "cert-direct-" + identity.fingerprint.prefix(32), policies: policies.sorted(),
                meta: metadata(role: role, identity: identity),
                displayName: "cert-" + role.displayName, parentHash: nil, path: "auth/\(mount.path)login", creationTime: now,
                creationTTL: 0, explicitMaxTTL: 0, period: 0, numUses: 0, renewable: false, expireTime: nil,
                lastRenewalTime: nil, role: role.name, authMethod: "cert", environment: role.token.environment, kind: "direct",
                boundCertificateFingerprint: identity.fingerprint)
        }
        return nil
    }
}
