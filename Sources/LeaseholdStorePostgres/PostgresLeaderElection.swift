import LeaseholdCore
import Logging
import PostgresNIO

/// Elects one leader among the broker instances sharing a PostgreSQL store, with a session-level advisory lock.
///
/// Each instance keeps one connection of its own (outside the store's pool) and, while it is eligible (unsealed: a
/// sealed instance can do none of the leader's work), tries the lock every `interval`. The instance that gets it
/// leads (``LeaseholdCore/Leadership/update(leading:leaderAddress:)``) and every `interval` checks on the same
/// connection that its session still holds the lock. An answer that fails or takes longer than `timeout`, or the
/// instance becoming ineligible, makes it step down and close the connection: the session may still hold the lock,
/// and closing it is the only way to be sure it is released. So an instance never believes it leads longer than
/// `interval + timeout` after its last confirmation.
///
/// The server ends the session of a leader that went silent (frozen, or cut off by the network) after
/// ``sessionTimeout(interval:timeout:)``, longer than the leader itself takes to notice: `idle_session_timeout` and
/// `tcp_user_timeout` from PostgreSQL 14, TCP keepalives on every version. Its lock is then released and another
/// instance takes over.
///
/// The leader's session is named `leasehold <api address>` (`application_name`), which is how followers learn the
/// leader's address for `sys/leader`.
public final class PostgresLeaderElection: Sendable {
    /// The advisory lock key (session level, in the store's database). Below 2³², so that `pg_locks` shows it as
    /// `classid = 0, objid = key, objsubid = 1`.
    public static let lockKey: Int64 = 0x4C65_6164  // "Lead"
    /// What the election's sessions are named before the advertised address.
    static let applicationNamePrefix = "leasehold "

    private let client: PostgresClient
    private let leadership: Leadership
    private let address: String
    private let interval: Duration
    private let timeout: Duration
    private let isEligible: @Sendable () async -> Bool
    private let logger: Logger

    /// Why a session stopped leading or following.
    private enum SessionEnd: Error {
        /// The instance may no longer lead (it was sealed).
        case ineligible
        /// The session no longer holds the lock it held.
        case lockLost
    }

    /// Creates an election over the store described by `configuration` (its own single-connection pool).
    ///
    /// - Parameters:
    ///   - leadership: Updated with each outcome.
    ///   - advertisedAddress: This instance's API address, shown to the others while it leads (when it fits in the
    ///     63 bytes of an `application_name` with its prefix, and is printable ASCII).
    ///   - interval: How often a follower tries the lock and a leader confirms it holds it.
    ///   - timeout: The longest one of those answers may take.
    ///   - isEligible: Whether this instance may lead now; asked before each try and each confirmation, and taken as
    ///     no when it does not answer within `timeout`.
    public init(
        configuration: PostgresClient.Configuration, leadership: Leadership, advertisedAddress: String,
        interval: Duration = .seconds(2), timeout: Duration = .seconds(5),
        isEligible: @escaping @Sendable () async -> Bool = { true }, logger: Logger
    ) {
        var configuration = configuration
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 1
        configuration.options.additionalStartupParameters.removeAll { $0.0 == "application_name" }
        configuration.options.additionalStartupParameters.append(
            ("application_name", Self.applicationName(advertising: advertisedAddress)))
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.leadership = leadership
        address = advertisedAddress
        self.interval = interval
        self.timeout = timeout
        self.isEligible = isEligible
        self.logger = logger
    }

    /// Creates an election over the store at `url` (see ``PostgresConnectionURL``).
    public convenience init(
        url: String, leadership: Leadership, advertisedAddress: String, interval: Duration = .seconds(2),
        timeout: Duration = .seconds(5), isEligible: @escaping @Sendable () async -> Bool = { true }, logger: Logger
    ) throws {
        self.init(
            configuration: try PostgresConnectionURL.configuration(from: url), leadership: leadership,
            advertisedAddress: advertisedAddress, interval: interval, timeout: timeout, isEligible: isEligible,
            logger: logger)
    }

    /// The `idle_session_timeout` of the election's sessions: well past the longest a leader can go without
    /// confirming its lock (`interval + timeout`), so that the server releases a silent leader's lock only after
    /// that leader has stepped down.
    static func sessionTimeout(interval: Duration, timeout: Duration) -> Duration {
        (interval + timeout) * 2
    }

    /// The `application_name` of the election's sessions: the prefix and `address`, or the bare prefix when the
    /// address would not survive in it (longer than 63 bytes in all, or not printable ASCII).
    public static func applicationName(advertising address: String) -> String {
        let name = applicationNamePrefix + address
        let printable = name.utf8.allSatisfy { (0x20...0x7E).contains($0) }
        return printable && name.utf8.count <= 63 ? name : String(applicationNamePrefix.dropLast())
    }

    /// Campaigns until the task is cancelled; this instance no longer leads when it returns.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.campaign() }
            await group.next()
            group.cancelAll()
        }
        step(down: "the election stopped")
    }

    private func campaign() async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    do {
                        try await self.serve(on: connection)
                    } catch {
                        // The session may still hold the lock: only closing it makes sure the lock is released.
                        try? await connection.close()
                        throw error
                    }
                }
            } catch SessionEnd.ineligible {
                step(down: "the instance was sealed")
            } catch {
                if !Task.isCancelled {
                    logger.notice("leader election session ended", metadata: ["error.type": "\(type(of: error))"])
                }
                step(down: Task.isCancelled ? "the election stopped" : "its session failed or did not confirm the lock in time")
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Follows until this instance is eligible and the lock is free, then leads until the session stops confirming
    /// it or the instance stops being eligible. Returns only by throwing.
    private func serve(on connection: PostgresConnection) async throws {
        let idleLimit = Self.sessionTimeout(interval: interval, timeout: timeout)
        // The server drops a silent peer through TCP keepalives (and, from PostgreSQL 12, an unacknowledged-data
        // limit) within about the idle limit too, where the system defaults would wait over two hours.
        let idleSeconds = "\(max(1, idleLimit.components.seconds / 2))"
        _ = try await answer(
            """
            SELECT concat(set_config('tcp_keepalives_idle', \(idleSeconds), false),
                set_config('tcp_keepalives_interval', '1', false), set_config('tcp_keepalives_count', \(idleSeconds), false))
            """, as: String.self, on: connection)
        _ = try await answer(
            """
            SELECT concat(set_config('idle_session_timeout', \("\(idleLimit.sqlMilliseconds)"), false),
                set_config('tcp_user_timeout', \("\(idleLimit.sqlMilliseconds)"), false))
            WHERE current_setting('server_version_num')::int >= 140000
            """, as: String.self, on: connection)
        var warnedOfForeignHolder = false
        while true {
            if await eligible(),
                try await answer("SELECT pg_try_advisory_lock(\(Self.lockKey))", as: Bool.self, on: connection) == true
            {
                break
            }
            let leader = try await answer(
                """
                SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid::bigint = \(Self.lockKey)
                  AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """, as: String.self, on: connection)
            let prefix = Self.applicationNamePrefix
            let foreign = leader.map { $0 != String(prefix.dropLast()) && !$0.hasPrefix(prefix) } ?? false
            if foreign && !warnedOfForeignHolder {
                // Someone else holds the key: no instance runs the reaper while it does. The name is not logged.
                logger.warning("the leader lock is held by a session that is not a Leasehold instance")
            }
            warnedOfForeignHolder = foreign
            leadership.update(
                leading: false, leaderAddress: leader.flatMap { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : nil })
            try await Task.sleep(for: interval)
        }
        if !leadership.isLeading { logger.notice("this instance now leads the instances sharing the store") }
        leadership.update(leading: true, leaderAddress: address)
        while true {
            try await Task.sleep(for: interval)
            guard await eligible() else { throw SessionEnd.ineligible }
            let held = try await answer(
                """
                SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                  AND classid = 0 AND objid::bigint = \(Self.lockKey) AND objsubid = 1)
                """, as: Bool.self, on: connection)
            guard held == true else { throw SessionEnd.lockLost }
        }
    }

    /// Whether this instance may lead, answered within ``timeout`` (a late answer counts as no, so that a leader
    /// never goes longer than `interval + timeout` without confirming).
    private func eligible() async -> Bool {
        let isEligible = isEligible
        return (try? await withDeadline(timeout, timeoutError: SessionEnd.ineligible) { await isEligible() }) ?? false
    }

    /// The first column of the first row of `query` (`nil` without rows), answered within ``timeout``.
    private func answer<T: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, as type: T.Type, on connection: PostgresConnection
    ) async throws -> T? {
        let logger = logger
        return try await withStoreDeadline(timeout, "the leader election's statement") {
            for try await value in try await connection.query(query, logger: logger).decode(T.self) { return value }
            return nil
        }
    }

    private func step(down reason: String) {
        if leadership.isLeading { logger.notice("this instance no longer leads", metadata: ["reason": "\(reason)"]) }
        leadership.update(leading: false, leaderAddress: nil)
    }
}
