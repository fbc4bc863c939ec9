import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LeaseholdCore
import LeaseholdEnginePostgres
import LeaseholdHTTP
import LeaseholdService
import LeaseholdStoreSQLite
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A settable clock for expiry tests.
final class TestClock: Sendable {
    private let current = Mutex(Date())
    private let followsRealTime: Bool

    init(following realTime: Bool = false) { followsRealTime = realTime }

    var now: Date { followsRealTime ? Date() : current.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// A store decorator that can be told to fail every commit, to prove that requests fail closed when their audit
/// row cannot be written. Reads and writes otherwise go to the real SQLite store.
final class FailableStore: BrokerStore {
    let base: any BrokerStore
    private let failing = Mutex(false)
    private let failingAuditDeletes = Mutex(false)
    private let failingReads = Mutex<StoreKey?>(nil)
    private let pausedCommits = Mutex(false)
    private let failingAudited = Mutex(false)
    private let held = Mutex<(matches: (@Sendable (StoreBatch) -> Bool)?, waiting: Int)>((nil, 0))

    init(base: any BrokerStore) { self.base = base }

    func failCommits(_ fail: Bool) { failing.withLock { $0 = fail } }

    /// Makes retention's delete fail, as a crash between its anchor commit and its delete would leave things.
    func failAuditDeletes(_ fail: Bool) { failingAuditDeletes.withLock { $0 = fail } }

    /// Makes commits that carry audit rows fail, and only those.
    func failCommitsWithAuditRows(_ fail: Bool) { failingAudited.withLock { $0 = fail } }

    /// Holds every commit until called again with `false`, as a slow disk would.
    func pauseCommits(_ pause: Bool) { pausedCommits.withLock { $0 = pause } }

    /// Holds every commit whose batch `matches` until called again with `nil`.
    func holdCommits(where matches: (@Sendable (StoreBatch) -> Bool)?) { held.withLock { $0.matches = matches } }

    /// Holds every commit that checks `key` (``StoreOperation/check(_:_:)``) until called again with `nil`.
    func holdCommits(checking key: StoreKey?) {
        guard let key else { return holdCommits(where: nil) }
        holdCommits(where: { batch in
            batch.operations.contains { operation in
                guard case .check(let checked, _) = operation else { return false }
                return checked == key
            }
        })
    }

    /// How many commits wait in ``holdCommits(where:)``.
    var heldCommitCount: Int { held.withLock { $0.waiting } }

    /// Makes reads of `key` fail, as a store that stops answering would.
    func failReads(of key: StoreKey?) { failingReads.withLock { $0 = key } }

    func entry(_ key: StoreKey) async throws -> StoreEntry? {
        if failingReads.withLock({ $0 == key }) { throw LeaseholdError(.storeUnavailable, "read failed (injected)") }
        return try await base.entry(key)
    }
    func keys(in namespace: StoreNamespace, prefix: String, after: String?, limit: Int) async throws -> [String] {
        try await base.keys(in: namespace, prefix: prefix, after: after, limit: limit)
    }
    func countKeys(in namespace: StoreNamespace, prefix: String, upTo limit: Int) async throws -> Int {
        try await base.countKeys(in: namespace, prefix: prefix, upTo: limit)
    }
    func commit(_ batch: StoreBatch) async throws {
        if failing.withLock({ $0 }) || (!batch.auditEvents.isEmpty && failingAudited.withLock({ $0 })) {
            throw LeaseholdError(.storeUnavailable, "disk full (injected)")
        }
        while pausedCommits.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        if held.withLock({ $0.matches?(batch) ?? false }) {
            held.withLock { $0.waiting += 1 }
            defer { held.withLock { $0.waiting -= 1 } }
            while held.withLock({ $0.matches?(batch) ?? false }) { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await base.commit(batch)
    }
    func auditRecords(matching query: AuditQuery, limit: Int) async throws -> [AuditRecord] {
        try await base.auditRecords(matching: query, limit: limit)
    }
    func deleteAuditRecords(through sequence: Int64) async throws {
        if failingAuditDeletes.withLock({ $0 }) { throw LeaseholdError(.storeUnavailable, "delete failed (injected)") }
        try await base.deleteAuditRecords(through: sequence)
    }
    func close() async throws { try await base.close() }
}

/// A broker on a real SQLite store, served through the real HTTP responder.
struct BrokerHarness {
    let broker: Broker
    let store: FailableStore
    let sqlite: SQLiteBrokerStore
    let clock: TestClock
    let application: Application<APIResponder>
    let engineFactory: PostgresEngineFactory?

    /// A fresh, uninitialized broker; with `other`, a second instance on `other`'s store. Audit devices may be
    /// enabled through the API unless `allowsAPIAuditDevices` is false (servers refuse by default).
    static func make(
        maximumBodySize: Int = 1024 * 1024, limits: LeaseLimits = LeaseLimits(), withEngines: Bool = false,
        clock: TestClock = TestClock(), loginThrottle: LoginThrottle = LoginThrottle(), leadership: Leadership = .sole(),
        allowsAPIAuditDevices: Bool = true, dataKeyUsage: DataKeyUsage = DataKeyUsage(),
        autoUnseal: AutoUnseal = .none, sharingStoreOf other: BrokerHarness? = nil
    ) async throws -> BrokerHarness {
        let logger = Logger(label: "test")
        let engineFactory = withEngines ? PostgresEngineFactory(logger: logger) : nil
        let sqlite: SQLiteBrokerStore
        if let other { sqlite = other.sqlite } else { sqlite = try await SQLiteBrokerStore.temporary(logger: logger) }
        let store = other?.store ?? FailableStore(base: sqlite)
        let seal = try await SealManager(store: store, autoUnseal: autoUnseal, logger: logger)
        let broker = Broker(
            store: store, seal: seal, limits: limits,
            information: ServerInformation(version: "test", storageType: "sqlite", apiAddress: "http://127.0.0.1"),
            logger: logger, engines: engineFactory.map { DatabaseEngines(factory: $0) }, loginThrottle: loginThrottle,
            leadership: leadership, allowsAPIAuditDeviceCreation: allowsAPIAuditDevices, dataKeyUsage: dataKeyUsage,
            now: { clock.now })
        let responder = APIResponder(
            broker: broker, limits: RequestLimits(maximumBodySize: maximumBodySize), renderMetrics: { "leasehold_test 1\n" })
        let application = Application(responder: responder, logger: logger)
        return BrokerHarness(
            broker: broker, store: store, sqlite: sqlite, clock: clock, application: application, engineFactory: engineFactory)
    }

    /// A broker initialized with one share and unsealed; returns the harness, the root token and the share.
    static func unsealed(
        limits: LeaseLimits = LeaseLimits(), withEngines: Bool = false, clock: TestClock = TestClock(),
        loginThrottle: LoginThrottle = LoginThrottle()
    ) async throws -> (BrokerHarness, String) {
        let harness = try await make(limits: limits, withEngines: withEngines, clock: clock, loginThrottle: loginThrottle)
        let root = try await harness.broker.initializeForDevelopment(rootTokenID: nil).rootToken.revealed
        return (harness, root)
    }

    /// Serves the broker on a real socket (port 0, TLS when `certificates` are given) and runs `body` with the port.
    func withLiveListener(
        certificates: ListenerCertificates?, limits: RequestLimits = RequestLimits(), _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        let port = Mutex<Int?>(nil)
        let listener = try BrokerServer.makeListener(
            broker: broker, host: "127.0.0.1", port: 0, limits: limits, certificates: certificates,
            renderMetrics: { "" }, logger: Logger(label: "live-test"),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        let serviceGroup = ServiceGroup(configuration: .init(services: [listener], logger: Logger(label: "live-test")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serviceGroup.run() }
            var bound: Int?
            for _ in 0..<500 {
                bound = port.withLock { $0 }
                if bound != nil { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            guard let bound else { throw LeaseholdError(.internalError, "listener did not start") }
            do {
                try await body(bound)
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                throw error
            }
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        try? await sqlite.close()
    }

    /// Runs `body` with an HTTP client bound to the application.
    func withClient<T: Sendable>(_ body: @Sendable (APIClient) async throws -> T) async throws -> T {
        guard let engineFactory else {
            let result = try await application.test(.router) { client in try await body(APIClient(client: client)) }
            try? await sqlite.close()
            return result
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await engineFactory.run() }
            let result: Result<T, any Error>
            do {
                result = .success(try await application.test(.router) { client in try await body(APIClient(client: client)) })
            } catch {
                result = .failure(error)
            }
            await broker.engines?.shutdown()
            engineFactory.finish()
            try await group.waitForAll()
            try? await sqlite.close()
            return try result.get()
        }
    }

    /// Runs the lease reaper alongside `body`.
    func withReaper<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let reaper = LeaseReaper(broker: broker, logger: Logger(label: "reaper"), maximumSleep: .milliseconds(200))
        let group = ServiceGroup(configuration: .init(services: [reaper], logger: Logger(label: "reaper")))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}

/// Sends Vault-style requests and decodes replies.
struct APIClient: Sendable {
    let client: any TestClientProtocol

    struct Reply: Sendable {
        let status: Int
        let body: JSONValue?
        let text: String

        var object: [String: JSONValue] { body?.objectValue ?? [:] }
        var data: [String: JSONValue] { object["data"]?.objectValue ?? [:] }
        var auth: [String: JSONValue] { object["auth"]?.objectValue ?? [:] }
        var errors: [String] {
            guard case .array(let items)? = object["errors"] else { return [] }
            return items.compactMap(\.stringValue)
        }
        var clientToken: String { auth["client_token"]?.stringValue ?? "" }
    }

    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: JSONValue? = nil, raw: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[HTTPField.Name("X-Vault-Token")!] = token }
        var body: ByteBuffer?
        if let json { body = ByteBuffer(bytes: try JSONEncoder().encode(json)) }
        if let raw { body = ByteBuffer(string: raw) }
        return try await client.execute(uri: "/v1/" + path, method: method, headers: headers, body: body) { response in
            let text = String(buffer: response.body)
            let parsed = text.isEmpty ? nil : try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            return Reply(status: Int(response.status.code), body: parsed, text: text)
        }
    }
}

extension APIClient {
    /// Mounts `database/` and writes connection `name` to a target nothing listens on (port 1), without checking it.
    func configureUnreachableConnection(_ name: String, token: String, adminPassword: String) async throws -> Reply {
        _ = try await send(.post, "sys/mounts/database", token: token, json: ["type": "database"])
        return try await send(.post, "database/config/\(name)", token: token, json: [
            "plugin_name": "postgresql-database-plugin", "verify_connection": false, "allowed_roles": "*",
            "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:1/nowhere?sslmode=disable",
            "username": "nobody", "password": .string(adminPassword),
        ])
    }
}

extension HTTPRequest.Method {
    static let list = HTTPRequest.Method("LIST")!
}
