import LeaseholdCore
import PostgresNIO

extension PostgresDatabaseEngine {
    /// Creates the user in one transaction: the transaction-local timeouts and bookkeeping names (one round trip),
    /// the rendered creation statements up to the first one that changes object privileges, the bookkeeping
    /// (``bookkeeping``, one round trip), then `request.beforeCommit`, the transaction-scoped advisory lock that serializes
    /// object-privilege changes on this target (concurrent `GRANT … ON ALL TABLES IN SCHEMA` otherwise fail with
    /// `tuple concurrently updated`) and the remaining statements. The lock is thus held only from the first grant
    /// to the commit, and templates without object grants (group-role membership) never wait for it. Transient
    /// failures (`40001`, `40P01`, `tuple concurrently updated`) retry the whole transaction.
    ///
    /// Refuses, before connecting: passwords outside printable ASCII or with quotes or backslashes, lease ids with
    /// control characters or longer than 512 bytes, and templates whose placeholders are not quoted (see
    /// ``StatementTemplate``). Errors name the failing statement and its SQLSTATE, never rendered SQL or the password.
    public func createUser(_ request: DatabaseUserRequest) async throws {
        guard (1...512).contains(request.leaseID.utf8.count),
            !request.leaseID.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw LeaseholdError.invalidRequest("the lease id must be 1 to 512 bytes without control characters")
        }
        let (statements, secrets) = try renderCreation(request)
        let lockedFrom = try StatementTemplate(request.creationStatements).firstObjectPrivilegeStatement ?? statements.count
        try await reporting("creating the database user") { [self] in
            try await ensureBookkeepingRole()
            do {
                try await TransientRetry.run {
                    try await inTransaction(settings: bookkeepingSettings(for: request)) { connection in
                        // A template that grants before creating anything keeps the lock for the whole transaction.
                        if lockedFrom == 0 {
                            try await request.beforeCommit()
                            try await takeCatalogLock(on: connection)
                        }
                        try await connection.executeTemplateStatements(
                            statements[..<(lockedFrom == 0 ? statements.count : lockedFrom)], secrets: secrets, logger: logger)
                        do {
                            try await connection.query(Self.bookkeeping, logger: logger)
                        } catch {
                            throw TargetDatabaseFailure(error)
                        }
                        if lockedFrom > 0 {
                            try await request.beforeCommit()
                            if lockedFrom < statements.count {
                                try await takeCatalogLock(on: connection)
                                try await connection.executeTemplateStatements(
                                    statements[lockedFrom...], secrets: secrets, logger: logger)
                            }
                        }
                    }
                }
            } catch let failure as TargetDatabaseFailure where failure.sqlState == "42704" && failure.statementIndex == nil {
                await bookkeepingState.reset()
                throw failure
            }
        }
    }

    /// Marks a new user as managed, in one round trip: membership in the bookkeeping role, the lease marker as the
    /// role's comment and, for a non-superuser admin, membership of the admin in the user (which `REASSIGN OWNED`
    /// and `DROP OWNED` need at revocation on PostgreSQL 15 and earlier). The block is constant: the names come
    /// from transaction-local settings bound as parameters (``bookkeepingSettings(for:)``) and are quoted by the
    /// server with `format('%I', '%L')`.
    static let bookkeeping: PostgresQuery = """
        DO $leasehold$
        DECLARE
            new_user text := current_setting('leasehold.new_user');
        BEGIN
            EXECUTE format('GRANT %I TO %I', current_setting('leasehold.bookkeeping_role'), new_user);
            EXECUTE format('COMMENT ON ROLE %I IS %L', new_user, current_setting('leasehold.lease_marker'));
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT %I TO CURRENT_USER', new_user);
            END IF;
        END
        $leasehold$
        """

    /// The transaction-local settings ``bookkeeping`` reads.
    func bookkeepingSettings(for request: DatabaseUserRequest) -> [(name: String, value: String)] {
        [
            ("leasehold.new_user", request.username.rawValue),
            ("leasehold.bookkeeping_role", configuration.bookkeepingRole),
            ("leasehold.lease_marker", request.leaseID),
        ]
    }

    /// The creation statements rendered for `request`, and the secret values errors must never repeat.
    func renderCreation(_ request: DatabaseUserRequest) throws -> (statements: [String], secrets: [String]) {
        let template = try StatementTemplate(request.creationStatements)
        guard template.count > 0 else {
            throw LeaseholdError.invalidRequest("the role has no creation statements")
        }
        let password = try passwordValue(request.password)
        let statements = try template.render(
            templateValues(
                username: request.username,
                extra: [.password: password, .expiration: SecretValue(ExpirationText.render(request.expiration))]
            )
        )
        return (statements, [request.password.revealed, password.revealed])
    }

    /// Creates the bookkeeping role (`NOLOGIN`) unless it exists; concurrent creators (other engines or brokers)
    /// are tolerated. Checked once per engine.
    func ensureBookkeepingRole() async throws {
        guard await !bookkeepingState.isEnsured else { return }
        do {
            try await client.withConnection { connection in
                try await connection.executeServerRendered(
                    """
                    SELECT format('CREATE ROLE %I NOLOGIN', \(configuration.bookkeepingRole))
                    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = \(configuration.bookkeepingRole))
                    """,
                    logger: logger
                )
            }
        } catch {
            let failure = TargetDatabaseFailure(error)
            // 42710: created meanwhile; 23505: lost the race on pg_authid's unique index.
            guard failure.sqlState == "42710" || failure.sqlState == "23505" else { throw failure }
        }
        await bookkeepingState.markEnsured()
    }

    /// Takes the transaction-scoped advisory lock that serializes this target's grant-changing transactions
    /// (creations, `DROP OWNED`) in the admin database, unless serialization is off (measurements only). Without
    /// it, 8 concurrent creations with `GRANT … ON ALL TABLES IN SCHEMA` exhaust the retries on
    /// `tuple concurrently updated`.
    func takeCatalogLock(on connection: PostgresConnection) async throws {
        guard serializesCreation else { return }
        try await connection.query(
            "SELECT pg_advisory_xact_lock(hashtext(\("leasehold.catalog." + configuration.bookkeepingRole)))",
            logger: logger
        )
    }
}
