import LeaseholdCore

/// A DBA-written dynamic role, as read from a YAML file in `Roles/`.
public struct RoleTemplate: Sendable, Hashable {
    /// The role name (letters, digits, `-`, `_`, `.`).
    public var name: String
    /// The database engine mount, without slashes (default `database`).
    public var mount: String
    /// The connection (`config/:name`) the role issues on.
    public var connection: String
    /// The environment the role belongs to.
    public var environment: String
    /// Free text shown to users.
    public var description: String
    /// The team or person responsible for the template.
    public var owner: String
    /// SQL that creates the user, with placeholders.
    public var creationStatements: [String]
    /// SQL that removes the user (empty: the broker's thorough default).
    public var revocationStatements: [String]
    /// SQL that extends the user (empty: `VALID UNTIL`).
    public var renewStatements: [String]
    /// Default lease TTL.
    public var defaultTTL: TTL
    /// Maximum lease TTL.
    public var maxTTL: TTL
    /// Whether leases outlive the token that requested them.
    public var leasesOutliveToken: Bool
    /// Cap on active leases of the role (0: none).
    public var maxActiveLeases: Int
    /// Cap on active leases per identity (0: none).
    public var maxLeasesPerIdentity: Int
    /// The file the template came from.
    public var sourceFile: String

    /// The body of `POST <mount>/roles/<name>` for this template.
    public var apiFields: [String: JSONValue] {
        [
            "db_name": .string(connection), "creation_statements": .strings(creationStatements),
            "revocation_statements": .strings(revocationStatements), "renew_statements": .strings(renewStatements),
            "default_ttl": .int(Int(defaultTTL.seconds)), "max_ttl": .int(Int(maxTTL.seconds)),
            "environment": .string(environment), "description": .string(description), "owner": .string(owner),
            "leases_outlive_token": .bool(leasesOutliveToken), "max_active_leases": .int(maxActiveLeases),
            "max_leases_per_identity": .int(maxLeasesPerIdentity), "source": .string(sourceFile),
        ]
    }
}
