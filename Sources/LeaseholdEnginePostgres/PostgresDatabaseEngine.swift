import Foundation
import LeaseholdCore
import Logging
import PostgresNIO
import Synchronization

/// The ``LeaseholdCore/DatabaseEngine`` for PostgreSQL targets, over a bounded `PostgresClient` pool.
///
/// The composition root runs ``run()`` for as long as the engine is used (for example as a task of its service
/// group) and calls ``shutdown()`` to make it return:
///
/// ```swift
/// let engine = try PostgresDatabaseEngine(configuration: configuration, logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await engine.run() }
///     try await engine.verifyConnection()
///     …                       // use the engine
///     await engine.shutdown() // makes run() return
/// }
/// ```
///
/// Every connection starts with the configured `statement_timeout` and `lock_timeout`, and every transaction sets
/// them again with `SET LOCAL`. Values reach SQL only through bind parameters, server-side `format('%I', '%L')`, or
/// template placeholders whose position and values are checked by ``StatementTemplate``.
///
/// The admin user must be a superuser or have `CREATEROLE`. From PostgreSQL 16 a `CREATEROLE` admin can alter,
/// drop and reassign only roles on which it holds `ADMIN OPTION` (granted automatically for roles it creates), and
/// `REASSIGN OWNED` needs the privileges of both the revoked user and the heir role (see `createrole_self_grant`):
/// changing the admin user strands users created by the previous one.
public final class PostgresDatabaseEngine: DatabaseEngine {
    let configuration: PostgresTargetConfiguration
    let client: PostgresClient
    let logger: Logger
    let bookkeepingState = BookkeepingRoleState()
    /// Whether grant-changing transactions take the advisory lock of ``takeCatalogLock(on:)``; off only in
    /// measurements.
    let serializesCreation: Bool
    /// Concurrent default revocations, dropped together in one transaction (see ``revokeTogether(_:)``).
    let revocations: GroupCommitQueue<DatabaseUsername, RevocationOutcome>
    /// Users dropped by the batch path (for tests and diagnostics: a batch that falls back does not count).
    let usersDroppedInBatches = Atomic<Int>(0)
    /// The last time a revocation found the target unreachable, so that queued ones do not each wait out a timeout.
    let unreachableTarget = RecentFailure(within: .seconds(1))
    private let closed: AsyncStream<Never>
    private let closedContinuation: AsyncStream<Never>.Continuation
    /// Operations running now, and whether ``shutdown()`` asked to close once they end.
    private let operations = Mutex((running: 0, closing: false))

    /// Creates an engine for the target described by `configuration`; nothing connects until ``run()`` runs.
    ///
    /// Throws ``LeaseholdCore/LeaseholdError/Code/invalidRequest`` when the TLS material is not valid PEM or a role
    /// name in the configuration is unusable.
    public convenience init(configuration: PostgresTargetConfiguration, logger: Logger) throws {
        try self.init(configuration: configuration, serializesCreation: true, logger: logger)
    }

    init(configuration: PostgresTargetConfiguration, serializesCreation: Bool, logger: Logger) throws {
        for role in [configuration.bookkeepingRole, configuration.effectiveHeirRole, configuration.username] {
            guard (1...63).contains(role.utf8.count), !role.utf8.contains(0) else {
                throw LeaseholdError.invalidRequest("role names in the target configuration must be 1 to 63 bytes")
            }
        }
        self.configuration = configuration
        self.serializesCreation = serializesCreation
        // PostgresNIO traces statement text, and rendered statements may hold a password: never below info.
        var logger = logger
        logger.logLevel = max(logger.logLevel, .info)
        self.logger = logger
        client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: logger)
        (closed, closedContinuation) = AsyncStream.makeStream(of: Never.self)
        let reference = EngineReference()
        revocations = GroupCommitQueue(maximumGroupSize: 64, gatheringWindow: .milliseconds(5)) { usernames in
            guard let engine = reference.engine else { throw LeaseholdError(.targetUnavailable, "the database engine was replaced") }
            return await engine.revokeTogether(usernames)
        }
        reference.engine = self
    }

    /// Runs the connection pool until ``shutdown()`` is called or the task is cancelled. Calls wait while it is not
    /// running.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            group.addTask { for await _ in self.closed {} }
            await group.next()
            group.cancelAll()
        }
    }

    /// Refuses new operations and makes ``run()`` return, closing the pool's connections, once the operations
    /// already running have ended (each within ``PostgresTargetConfiguration/operationTimeout``). Returns at once:
    /// an engine replaced by a new connection configuration lets its transactions commit or roll back instead of
    /// losing their connections halfway.
    public func shutdown() async {
        let idle = operations.withLock { state -> Bool in
            state.closing = true
            return state.running == 0
        }
        if idle { closedContinuation.finish() }
    }

    /// Counts an operation as running, unless the engine is closing.
    private func beginOperation(_ operation: String) throws {
        let admitted = operations.withLock { state -> Bool in
            guard !state.closing else { return false }
            state.running += 1
            return true
        }
        guard admitted else {
            throw LeaseholdError(.targetUnavailable, "\(operation) failed: the connection's settings changed meanwhile; retry")
        }
    }

    /// Ends an operation; the last one of a closing engine closes it.
    private func endOperation() {
        let close = operations.withLock { state -> Bool in
            state.running -= 1
            return state.closing && state.running == 0
        }
        if close { closedContinuation.finish() }
    }

    /// Runs `body` in a transaction bounded by `SET LOCAL` timeouts, unwrapping PostgresNIO's transaction error. The
    /// transaction runs on its connection's event loop (``EventLoopTaskExecutor``), so `body` must never block.
    func inTransaction<Result: Sendable>(
        settings: [(name: String, value: String)] = [],
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await client.withConnection { connection in
                try await withTaskExecutorPreference(EventLoopTaskExecutor(connection.eventLoop)) {
                    try await connection.withTransaction(logger: logger) { connection in
                        try await connection.setLocalSettings(configuration, values: settings, logger: logger)
                        return try await body(connection)
                    }
                }
            }
        } catch {
            throw TargetDatabaseFailure.unwrap(error)
        }
    }

    /// Runs `body` and turns target failures into caller-safe errors for `operation`. Every operation of the engine
    /// runs through here, counted as running (see ``shutdown()``); a closing engine refuses it.
    ///
    /// The whole operation is bounded by ``PostgresTargetConfiguration/operationTimeout``: an unreachable target
    /// (whose connection pool would otherwise keep retrying) fails the call instead of hanging it.
    func reporting<Result: Sendable>(
        _ operation: String, _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let timeout = configuration.operationTimeout
        try beginOperation(operation)
        defer { endOperation() }
        do {
            return try await withDeadline(
                timeout,
                timeoutError: LeaseholdError(
                    .targetUnavailable, "\(operation) failed: the target database did not answer within \(timeout)"),
                operation: body)
        } catch let error as LeaseholdError {
            throw error
        } catch {
            throw TargetDatabaseFailure(error).leaseholdError(operation)
        }
    }

    /// Runs `body` on a connection of its own to `database` (admin credentials, TLS settings), closed afterwards
    /// whatever happens; failures come out as ``TargetDatabaseFailure``s.
    func withSingleConnection<T: Sendable>(
        to database: String, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: try configuration.connectionConfiguration(database: database),
                id: Int.random(in: 1...Int(Int32.max)),
                logger: logger
            )
        } catch let error as LeaseholdError {
            throw error
        } catch {
            throw TargetDatabaseFailure.unwrap(error)
        }
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw TargetDatabaseFailure.unwrap(error)
        }
    }

    /// Opens a connection, runs `SELECT 1`, and checks that the admin user is a superuser or has `CREATEROLE`.
    ///
    /// On PostgreSQL 16 and later a `CREATEROLE` admin also needs `ADMIN OPTION` on every managed role, which it
    /// has for the roles it created itself; this check cannot see roles created by another admin.
    public func verifyConnection() async throws {
        // One connection of its own, not the pool: the pool retries a refused login until its deadline, and a
        // wrong password must fail at once.
        let privileges = try await reporting("verifying the target connection") { [self] in
            try await withSingleConnection(to: configuration.database) { [self] connection in
                var found: (Bool, Bool)?
                let rows = try await connection.query(
                    "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user",
                    logger: logger
                )
                for try await row in rows.decode((Bool, Bool).self) { found = row }
                return found
            }
        }
        guard let (isSuperuser, canCreateRoles) = privileges, isSuperuser || canCreateRoles else {
            throw LeaseholdError.invalidRequest("the target's admin user must be a superuser or have CREATEROLE")
        }
    }

    /// Moves the user's expiry: `ALTER ROLE … VALID UNTIL` rendered with `format(%I, %L)`, or `statements` with the
    /// `{{name}}`, `{{username}}`, `{{expiration}}` and `{{database}}` placeholders, in one transaction.
    public func renewUser(_ username: DatabaseUsername, until expiration: Date, statements: [String]) async throws {
        let expirationText = ExpirationText.render(expiration)
        let values = templateValues(username: username, extra: [.expiration: SecretValue(expirationText)])
        let rendered = statements.isEmpty ? [] : try StatementTemplate(statements).render(values)
        try await reporting("renewing the database user") { [self] in
            try await TransientRetry.run {
                try await inTransaction { connection in
                    if rendered.isEmpty {
                        try await connection.executeServerRendered(
                            "SELECT format('ALTER ROLE %I VALID UNTIL %L', \(username.rawValue), \(expirationText))",
                            logger: logger
                        )
                    } else {
                        try await connection.executeTemplateStatements(rendered, secrets: [], logger: logger)
                    }
                }
            }
        }
    }

    /// The members of the bookkeeping role, with the lease id from each one's `COMMENT ON ROLE`.
    public func managedUsers() async throws -> [ManagedDatabaseUser] {
        try await reporting("listing managed database users") { [self] in
            let rows = try await client.query(
                """
                SELECT r.rolname::text, shobj_description(r.oid, 'pg_authid')
                FROM pg_roles r
                JOIN pg_auth_members m ON m.member = r.oid
                JOIN pg_roles b ON b.oid = m.roleid
                WHERE b.rolname = \(configuration.bookkeepingRole)
                ORDER BY r.rolname
                """,
                logger: logger
            )
            var users: [ManagedDatabaseUser] = []
            for try await (name, comment) in rows.decode((String, String?).self) {
                users.append(ManagedDatabaseUser(username: name, leaseID: comment))
            }
            return users
        }
    }

    /// Runs `ALTER ROLE SESSION_USER PASSWORD '…'` (the SCRAM verifier in SCRAM mode): the role that logged in, whatever
    /// role the session may have been set to.
    ///
    /// Existing pooled connections stay open, but this engine keeps connecting with the configured password: the
    /// caller stores the new password and replaces the engine.
    public func changeAdminPassword(to password: SecretValue) async throws {
        let sent = try passwordValue(password)
        let statements = try StatementTemplate(["ALTER ROLE SESSION_USER PASSWORD '{{password}}'"]).render([.password: sent])
        try await reporting("changing the admin password") { [self] in
            try await inTransaction { connection in
                try await connection.executeTemplateStatements(statements, secrets: [password.revealed, sent.revealed], logger: logger)
            }
        }
    }

    /// The value sent for `{{password}}`: the password itself or its SCRAM verifier. Refuses passwords outside
    /// printable ASCII or containing quotes or backslashes.
    func passwordValue(_ password: SecretValue) throws -> SecretValue {
        guard StatementTemplate.isInert(password.revealed) else {
            throw LeaseholdError.invalidRequest(
                "PostgreSQL passwords must be printable ASCII without quotes or backslashes; adjust the password policy"
            )
        }
        switch configuration.passwordAuthentication {
        case .password: return password
        case .scramSHA256: return try SCRAMVerifier(password: password).text
        }
    }

    /// The values of `{{name}}`, `{{username}}` and `{{database}}` (when the database name is inert), plus `extra`.
    func templateValues(
        username: DatabaseUsername,
        extra: [StatementPlaceholder: SecretValue]
    ) -> [StatementPlaceholder: SecretValue] {
        var values = extra
        values[.name] = SecretValue(username.rawValue)
        values[.username] = SecretValue(username.rawValue)
        if StatementTemplate.isInert(configuration.database) {
            values[.database] = SecretValue(configuration.database)
        }
        return values
    }
}

/// A weak reference from the revocation queue's closure back to its engine (no retain cycle).
final class EngineReference: Sendable {
    private struct Weak {
        weak var engine: PostgresDatabaseEngine?
    }

    private let storage = Mutex(Weak())

    var engine: PostgresDatabaseEngine? {
        get { storage.withLock { $0.engine } }
        set { storage.withLock { $0.engine = newValue } }
    }
}

/// Remembers a failure for a short while (a one-second circuit breaker for work queued behind a failed attempt).
final class RecentFailure: Sendable {
    private struct State {
        var error: (any Error & Sendable)?
        var time: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private let window: Duration

    init(within window: Duration) { self.window = window }

    /// The failure recorded less than `window` ago, if any.
    func recentFailure() -> (any Error & Sendable)? {
        state.withLock { state in
            guard let time = state.time, ContinuousClock.now - time < window else { return nil }
            return state.error
        }
    }

    func record(_ error: any Error & Sendable) {
        state.withLock { $0 = State(error: error, time: .now) }
    }

    func clear() {
        state.withLock { $0 = State() }
    }
}
