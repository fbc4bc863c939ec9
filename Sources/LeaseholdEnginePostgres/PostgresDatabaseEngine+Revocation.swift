import Foundation
import LeaseholdCore
import PostgresNIO

extension PostgresDatabaseEngine {
    /// Removes the user.
    ///
    /// Default (`statements` empty):
    /// 1. `ALTER ROLE … NOLOGIN`, committed, so no new session can start;
    /// 2. `pg_terminate_backend` for each of its sessions, waiting briefly for them to end;
    /// 3. `REVOKE <group> FROM <user>` for every membership except the bookkeeping role (so a user left behind is
    ///    still found by ``managedUsers()``);
    /// 4. `REASSIGN OWNED BY … TO <heir>; DROP OWNED BY …` in every database that allows connections and holds
    ///    objects or privileges of the user (per `pg_shdepend`; the admin database always), each over its own
    ///    short-lived connection with the admin credentials (in the admin database under the same advisory lock as
    ///    creations: concurrent `DROP OWNED`s otherwise collide on catalog rows);
    /// 5. `DROP ROLE`.
    ///
    /// A missing user is ``LeaseholdCore/RevocationOutcome/alreadyAbsent``; a role that is not a member of the
    /// bookkeeping role is refused (the broker never drops roles it did not create). When the drop still fails the user stays
    /// disabled and the outcome is ``LeaseholdCore/RevocationOutcome/disabledOnly(reason:)`` with SQLSTATEs and
    /// short server messages. With custom `statements` (placeholders `{{name}}`, `{{username}}`, `{{database}}`),
    /// sessions are terminated first and the statements run in one transaction; the outcome is `.dropped` when the
    /// role is gone afterwards, `.disabledOnly` otherwise. Every identifier is rendered with `format('%I')`.
    ///
    /// Default revocations that arrive concurrently (the reaper, `revoke-prefix`) are dropped together, many users
    /// per transaction (``revokeTogether(_:)``); a batch that fails falls back to this path user by user.
    public func revokeUser(_ username: DatabaseUsername, statements: [String]) async throws -> RevocationOutcome {
        guard statements.isEmpty else { return try await revokeIndividually(username, statements: statements) }
        return try await revocations.submit(username)
    }

    /// Revokes one user as described in ``revokeUser(_:statements:)``, without batching.
    func revokeIndividually(_ username: DatabaseUsername, statements: [String]) async throws -> RevocationOutcome {
        let custom = statements.isEmpty ? nil : try StatementTemplate(statements).render(templateValues(username: username, extra: [:]))
        return try await reporting("revoking the database user") { [self] in
            switch try await membership(of: username) {
            case nil: return .alreadyAbsent
            case false?:
                throw LeaseholdError.invalidRequest("refusing to revoke a database role that is not managed by this broker")
            case true?: break
            }
            do {
                // The username's alphabet makes its quoted form safe SQL text: one round trip instead of two.
                try await client.query(PostgresQuery(unsafeSQL: "ALTER ROLE \(username.quotedIdentifier) NOLOGIN"), logger: logger)
            } catch let error where TargetDatabaseFailure(error).sqlState == "42704" {
                return .alreadyAbsent
            }
            try await terminateSessions(of: username)
            if let custom {
                try await inTransaction { connection in
                    try await connection.executeTemplateStatements(custom, secrets: [], logger: logger)
                }
                return try await membership(of: username) != nil
                    ? .disabledOnly(reason: "the revocation statements left the role in place") : .dropped
            }
            let databases = try await databasesHoldingDependencies(of: username)
            if databases.isEmpty {
                // Nothing owned or granted in any database (the group-role templates): DROP ROLE alone removes the
                // role and its memberships. Any failure falls through to the thorough path below.
                do {
                    try await client.query(PostgresQuery(unsafeSQL: "DROP ROLE \(username.quotedIdentifier)"), logger: logger)
                    return .dropped
                } catch let error where TargetDatabaseFailure(error).sqlState == "42704" {
                    return .alreadyAbsent
                } catch {
                    logger.debug("fast revocation failed; using the thorough path", metadata: ["username": "\(username)"])
                }
            }
            var problems: [String] = []
            do {
                try await TransientRetry.run { try await revokeMemberships(of: username) }
            } catch {
                problems.append("revoking memberships: \(TargetDatabaseFailure(error))")
            }
            for database in databases {
                do {
                    try await TransientRetry.run { try await dropOwnedObjects(of: username, in: database) }
                } catch {
                    problems.append("REASSIGN/DROP OWNED in \(database): \(TargetDatabaseFailure(error))")
                }
            }
            do {
                try await TransientRetry.run {
                    try await inTransaction { connection in
                        try await connection.executeServerRendered("SELECT format('DROP ROLE %I', \(username.rawValue))", logger: logger)
                    }
                }
            } catch let error where TargetDatabaseFailure(error).sqlState == "42704" {
                return .alreadyAbsent
            } catch {
                problems.insert("DROP ROLE: \(TargetDatabaseFailure(error))", at: 0)
                let reason = problems.joined(separator: "; ")
                logger.warning("database user left disabled", metadata: ["username": "\(username)", "reason": "\(reason)"])
                return .disabledOnly(reason: String(reason.prefix(480)))
            }
            return .dropped
        }
    }

    /// Whether the role `username` is a member of the bookkeeping role, or `nil` when it does not exist.
    func membership(of username: DatabaseUsername) async throws -> Bool? {
        try await memberships(of: [username.rawValue])[username.rawValue]
    }

    /// For each of `usernames` that exists, whether it is a member of the bookkeeping role.
    func memberships(of usernames: [String]) async throws -> [String: Bool] {
        let rows = try await client.query(
            """
            SELECT r.rolname::text, EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
                                            WHERE m.member = r.oid AND b.rolname = \(configuration.bookkeepingRole))
            FROM pg_roles r WHERE r.rolname = ANY(\(usernames))
            """,
            logger: logger
        )
        var memberships: [String: Bool] = [:]
        for try await (name, isMember) in rows.decode((String, Bool).self) { memberships[name] = isMember }
        return memberships
    }

    /// Terminates the user's sessions and waits up to two seconds for them to end.
    func terminateSessions(of username: DatabaseUsername) async throws {
        try await terminateSessions(of: [username.rawValue])
    }

    /// Terminates the sessions of `usernames` and waits up to two seconds for them to end.
    func terminateSessions(of usernames: [String]) async throws {
        // The only condition in WHERE is the user name: pg_terminate_backend runs in the target list, for the
        // users' own sessions only (a second WHERE condition could be evaluated first, on every backend).
        var terminated = 0
        let signalled = try await client.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY(\(usernames))",
            logger: logger
        )
        for try await _ in signalled.decode(Bool.self) { terminated += 1 }
        guard terminated > 0 else { return }
        for _ in 0..<100 {
            var remaining = 0
            let rows = try await client.query(
                "SELECT count(*)::int FROM pg_stat_activity WHERE usename = ANY(\(usernames))",
                logger: logger
            )
            for try await count in rows.decode(Int.self) { remaining = count }
            if remaining == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw LeaseholdError(.internalError, "sessions of the database user did not end after pg_terminate_backend")
    }

    /// Revokes every membership of the user except the bookkeeping role.
    func revokeMemberships(of username: DatabaseUsername) async throws {
        try await inTransaction { connection in
            try await connection.executeServerRendered(
                """
                SELECT format('REVOKE %I FROM %I', g.rolname, u.rolname)
                FROM pg_auth_members m
                JOIN pg_roles u ON u.oid = m.member
                JOIN pg_roles g ON g.oid = m.roleid
                WHERE u.rolname = \(username.rawValue) AND g.rolname <> \(configuration.bookkeepingRole)
                """,
                logger: logger
            )
        }
    }

    /// The connectable databases in which the user owns objects or holds privileges, plus the admin database when
    /// the user depends on shared objects (privileges on or ownership of databases, tablespaces: `dbid` 0), which
    /// `DROP OWNED` there also handles. Empty when the user only has memberships (group-role templates).
    func databasesHoldingDependencies(of username: DatabaseUsername) async throws -> [String] {
        try await databasesHoldingDependencies(of: [username.rawValue])
    }

    /// The databases (as above) in which any of `usernames` holds objects or privileges.
    func databasesHoldingDependencies(of usernames: [String]) async throws -> [String] {
        let rows = try await client.query(
            """
            SELECT d.datname::text FROM pg_database d
            WHERE d.datallowconn AND EXISTS (
                SELECT 1 FROM pg_shdepend s JOIN pg_roles r ON r.oid = s.refobjid
                WHERE s.refclassid = 'pg_authid'::regclass AND r.rolname = ANY(\(usernames))
                  AND (s.dbid = d.oid OR (s.dbid = 0 AND d.datname = \(configuration.database))))
            ORDER BY d.datname = \(configuration.database) DESC, d.datname
            """,
            logger: logger
        )
        var databases: [String] = []
        for try await name in rows.decode(String.self) { databases.append(name) }
        return databases
    }

    /// Runs `REASSIGN OWNED BY … TO <heir>; DROP OWNED BY …` in `database`, in one transaction.
    func dropOwnedObjects(of username: DatabaseUsername, in database: String) async throws {
        let rendering: PostgresQuery = """
            SELECT format('REASSIGN OWNED BY %I TO %I', \(username.rawValue), \(configuration.effectiveHeirRole))
            UNION ALL SELECT format('DROP OWNED BY %I', \(username.rawValue))
            """
        if database == configuration.database {
            try await inTransaction { connection in
                try await takeCatalogLock(on: connection)
                try await connection.executeServerRendered(rendering, logger: logger)
            }
            return
        }
        try await withSingleConnection(to: database) { [self] connection in
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.setLocalSettings(configuration, logger: logger)
                try await connection.executeServerRendered(rendering, logger: logger)
            }
        }
    }

    /// Revokes a group of users that asked for the default revocation at about the same time: one membership
    /// query, `NOLOGIN` and session termination for all, then one transaction (under the catalog lock when any of
    /// them holds privileges or objects) with `REASSIGN OWNED BY a, b, … TO <heir>; DROP OWNED BY a, b, …;
    /// DROP ROLE a, b, …`, so shared catalog rows are rewritten once per batch instead of once per user. Users
    /// with dependencies in other databases, roles this broker does not manage, or any other failure send the group
    /// down the individual path, one user at a time, where each gets its own outcome — except an unreachable
    /// target, which fails the whole group at once (each lease then retries with its backoff) instead of making
    /// every user wait for its own timeout.
    func revokeTogether(_ usernames: [DatabaseUsername]) async -> [Result<RevocationOutcome, any Error>] {
        // Revocations that queued behind an attempt that found the target unreachable fail at once with it.
        if let recent = unreachableTarget.recentFailure() { return usernames.map { _ in .failure(recent) } }
        let unique = Array(Set(usernames)).sorted { $0.rawValue < $1.rawValue }
        if unique.count > 1 {
            do {
                let outcomes = try await reporting("revoking database users") { [self] in try await dropTogether(unique) }
                unreachableTarget.clear()
                return usernames.map { .success(outcomes[$0.rawValue] ?? .alreadyAbsent) }
            } catch {
                if Self.meansUnreachable(error), let error = error as? LeaseholdError {
                    unreachableTarget.record(error)
                    return usernames.map { _ in .failure(error) }
                }
                logger.debug("batched revocation failed; revoking one by one", metadata: ["users": "\(unique.count)"])
            }
        }
        var results: [Result<RevocationOutcome, any Error>] = []
        for username in usernames {
            if let recent = unreachableTarget.recentFailure() {
                results.append(.failure(recent))
                continue
            }
            do {
                results.append(.success(try await revokeIndividually(username, statements: [])))
                unreachableTarget.clear()
            } catch {
                if Self.meansUnreachable(error), let error = error as? LeaseholdError { unreachableTarget.record(error) }
                results.append(.failure(error))
            }
        }
        return results
    }

    /// Whether `error` says the target could not be reached at all (a deadline, or a failure without SQLSTATE:
    /// refused or lost connections), as opposed to the target refusing a statement.
    static func meansUnreachable(_ error: any Error) -> Bool {
        (error as? LeaseholdError)?.code == .targetUnavailable
    }

    /// The batch path of ``revokeTogether(_:)``; throws to fall back to the individual path.
    private func dropTogether(_ usernames: [DatabaseUsername]) async throws -> [String: RevocationOutcome] {
        let memberships = try await memberships(of: usernames.map(\.rawValue))
        guard !memberships.values.contains(false) else {
            throw LeaseholdError.invalidRequest("a role in the batch is not managed by this broker")
        }
        var outcomes = Dictionary(uniqueKeysWithValues: usernames.map { ($0.rawValue, RevocationOutcome.alreadyAbsent) })
        // Usernames come from a restricted alphabet, so their quoted forms are safe SQL text (as in the single path).
        let managed = usernames.filter { memberships[$0.rawValue] == true }
        guard !managed.isEmpty else { return outcomes }
        let names = managed.map(\.rawValue)
        let list = managed.map(\.quotedIdentifier).joined(separator: ", ")
        try await inTransaction { connection in
            for username in managed {
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER ROLE \(username.quotedIdentifier) NOLOGIN"), logger: logger)
            }
        }
        try await terminateSessions(of: names)
        let databases = try await databasesHoldingDependencies(of: names)
        guard databases.allSatisfy({ $0 == configuration.database }) else {
            throw LeaseholdError(.internalError, "users in the batch hold objects in other databases")
        }
        try await inTransaction { connection in
            if !databases.isEmpty {
                try await takeCatalogLock(on: connection)
                try await connection.executeServerRendered(
                    "SELECT format('REASSIGN OWNED BY %s TO %I', \(list), \(configuration.effectiveHeirRole))", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: "DROP OWNED BY \(list)"), logger: logger)
            }
            try await connection.query(PostgresQuery(unsafeSQL: "DROP ROLE \(list)"), logger: logger)
        }
        for name in names { outcomes[name] = .dropped }
        usersDroppedInBatches.add(names.count, ordering: .relaxed)
        return outcomes
    }
}
