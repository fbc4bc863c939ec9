import struct Foundation.Date

/// A target database server that the broker creates ephemeral users on.
///
/// Implementations render every value into SQL safely (server-side `format('%I', '%L')` or bind parameters),
/// bound every call with statement and lock timeouts, and never include secrets in errors.
public protocol DatabaseEngine: Sendable {
    /// Opens a connection and checks that the admin credential can manage roles.
    func verifyConnection() async throws

    /// Creates the user described by `request` in one target transaction and marks it as managed
    /// (membership in the bookkeeping role and a `COMMENT ON ROLE` naming the lease). The transaction commits
    /// only after `request.beforeCommit` returned, and before it takes any target-wide lock. On any error
    /// (including one thrown by `beforeCommit`) the transaction is rolled back and nothing of the user remains.
    func createUser(_ request: DatabaseUserRequest) async throws

    /// Dry-runs a role template: creates a throwaway user with the creation statements and removes it with the
    /// revocation statements (or the default drop), inside one target transaction that is always rolled back.
    func validateTemplate(_ request: DatabaseUserRequest, revocationStatements: [String]) async throws

    /// Moves the user's expiry (`VALID UNTIL` by default, or the role's renew statements).
    func renewUser(_ username: DatabaseUsername, until expiration: Date, statements: [String]) async throws

    /// Removes the user: disables login, terminates its sessions, reassigns and drops what it owns in every
    /// database, drops memberships and the role (or runs the role's revocation statements). A user that does not
    /// exist counts as revoked.
    func revokeUser(_ username: DatabaseUsername, statements: [String]) async throws -> RevocationOutcome

    /// The users this broker manages on the target (members of the bookkeeping role), with the lease id from
    /// their comment. Complexity: O(n) in managed users.
    func managedUsers() async throws -> [ManagedDatabaseUser]

    /// Changes the admin user's password on the target (root rotation).
    func changeAdminPassword(to password: SecretValue) async throws

    /// Closes the engine's connections.
    func shutdown() async
}

/// A generated database username: restricted alphabet, at most 63 bytes.
public struct DatabaseUsername: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The username text.
    public let rawValue: String

    /// Validates a username: 1–63 bytes of `[a-z0-9_-]`, starting with a letter or underscore.
    public init(_ rawValue: String) throws {
        guard (1...63).contains(rawValue.utf8.count),
            rawValue.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F || $0 == 0x2D }),
            let first = rawValue.utf8.first, (0x61...0x7A).contains(first) || first == 0x5F
        else { throw LeaseholdError.invalidRequest("invalid database username") }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    /// Decodes a username as a string, through the same validation as ``init(_:)``: ``quotedIdentifier`` is spliced
    /// into SQL, so no decoded value may skip the alphabet check.
    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes the username as a string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The name as a double-quoted SQL identifier. Safe to splice into SQL text because the alphabet
    /// (`[a-z0-9_-]`) can contain neither a double quote nor anything else that ends an identifier.
    public var quotedIdentifier: String { "\"" + rawValue + "\"" }
}

/// What a credential issue asks the engine to create.
public struct DatabaseUserRequest: Sendable {
    /// The new user's name.
    public var username: DatabaseUsername
    /// The new user's password.
    public var password: SecretValue
    /// When the user stops being valid on the target (`VALID UNTIL`).
    public var expiration: Date
    /// The role's creation statements with `{{name}}`, `{{username}}`, `{{password}}`, `{{expiration}}` and
    /// `{{database}}` placeholders.
    public var creationStatements: [String]
    /// The lease the user belongs to, written into `COMMENT ON ROLE`.
    public var leaseID: String
    /// Awaited inside the target transaction before it commits (and before any target-wide lock): the broker
    /// waits there for its durable record of the lease, so the user can never exist on the target without it,
    /// while the record's commit overlaps the transaction's first statements.
    public var beforeCommit: @Sendable () async throws -> Void

    /// Creates a request.
    public init(
        username: DatabaseUsername, password: SecretValue, expiration: Date, creationStatements: [String], leaseID: String,
        beforeCommit: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.username = username
        self.password = password
        self.expiration = expiration
        self.creationStatements = creationStatements
        self.leaseID = leaseID
        self.beforeCommit = beforeCommit
    }
}

/// How a revocation ended.
public enum RevocationOutcome: Sendable, Hashable {
    /// The role is gone from the target.
    case dropped
    /// The role did not exist (already revoked).
    case alreadyAbsent
    /// Login is disabled and sessions are gone, but the role could not be dropped; the reason holds no secret.
    case disabledOnly(reason: String)
}

/// A user found on the target that carries the broker's managed marker.
public struct ManagedDatabaseUser: Sendable, Hashable {
    /// The role name.
    public var username: String
    /// The lease id from the role's comment, if readable.
    public var leaseID: String?

    /// Creates a record.
    public init(username: String, leaseID: String?) {
        self.username = username
        self.leaseID = leaseID
    }
}
