import Foundation
import LeaseholdCore

/// A stored dynamic role (`<mount>roles/:name`).
public struct DatabaseRole: Sendable, Codable, Hashable {
    /// The role name.
    public var name: String
    /// The connection it issues on.
    public var connection: String
    /// SQL run in one target transaction to create the user.
    public var creationStatements: [String]
    /// SQL that removes the user (empty: the thorough default revocation).
    public var revocationStatements: [String]
    /// SQL that extends the user (empty: `ALTER ROLE … VALID UNTIL`).
    public var renewStatements: [String]
    /// SQL run when creation fails (kept for API compatibility; creation runs in one rolled-back transaction).
    public var rollbackStatements: [String]
    /// Default lease TTL in seconds (0: the mount's).
    public var defaultTTL: Int64
    /// Maximum lease TTL in seconds (0: the mount's).
    public var maxTTL: Int64
    /// The environment this role belongs to.
    public var environment: String
    /// Whether leases survive the revocation of the token that requested them (Vault: they do not).
    public var leasesOutliveToken: Bool
    /// The most active leases this role may have (0: no cap).
    public var maxActiveLeases: Int
    /// The most active leases one identity may hold on this role (0: no cap).
    public var maxLeasesPerIdentity: Int
    /// Free text.
    public var description: String
    /// Who owns the template (a team or person).
    public var owner: String
    /// `api` or the file the role was loaded from.
    public var source: String

    /// The `data` of a role read; TTLs in seconds as Vault reports them.
    public var json: [String: JSONValue] {
        [
            "db_name": .string(connection), "creation_statements": .strings(creationStatements),
            "revocation_statements": .strings(revocationStatements), "renew_statements": .strings(renewStatements),
            "rollback_statements": .strings(rollbackStatements), "default_ttl": .int(Int(defaultTTL)),
            "max_ttl": .int(Int(maxTTL)), "environment": .string(environment),
            "leases_outlive_token": .bool(leasesOutliveToken), "max_active_leases": .int(maxActiveLeases),
            "max_leases_per_identity": .int(maxLeasesPerIdentity), "description": .string(description),
            "owner": .string(owner), "source": .string(source), "credential_type": "password",
        ]
    }
}

/// Reads SQL statement lists in every form Vault accepts: a JSON list, one string, base64 of either, or
/// base64 of a JSON list; a single string holding several statements stays one entry (the engine splits on `;`
/// only outside quotes).
public enum StatementList {
    /// Parses the field; `nil` when absent. Commas never split statements.
    public static func parse(_ data: RequestData, _ name: String) throws -> [String]? {
        let invalid = LeaseholdError.invalidRequest("\(name) must be a string or a list of strings")
        switch data.value(name) {
        case nil, .null: return nil
        case .string(let text): return decode(text)
        case .array(let items):
            return try items.flatMap { item -> [String] in
                guard case .string(let text) = item else { throw invalid }
                return decode(text)
            }
        default: throw invalid
        }
    }

    static func decode(_ text: String) -> [String] {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return [] }
        if let decoded = Data(base64Encoded: trimmed), let inner = String(data: decoded, encoding: .utf8),
            inner.contains(where: { $0.isLetter })
        {
            if let list = try? JSONDecoder().decode([String].self, from: decoded) { return list }
            return [inner]
        }
        if trimmed.hasPrefix("["), let list = try? JSONDecoder().decode([String].self, from: Data(trimmed.utf8)) {
            return list
        }
        return [text]
    }
}
