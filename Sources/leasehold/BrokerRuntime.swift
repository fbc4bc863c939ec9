import Foundation
import Hummingbird
import LeaseholdAuditSinks
import HummingbirdTLS
import LeaseholdConfig
import LeaseholdCore
import LeaseholdEnginePostgres
import LeaseholdHTTP
import LeaseholdRoles
import LeaseholdService
import LeaseholdStorePostgres
import LeaseholdStoreSQLite
import Logging
import Metrics
import NIOSSL
import PostgresNIO
import Prometheus
import ServiceLifecycle
import UnixSignals

/// The composition root: builds the store, seal, broker and listeners from the configuration and runs them in
/// one service group until SIGTERM or SIGINT.
struct BrokerRuntime {
    let configuration: ServerConfiguration
    let dev: DevelopmentOptions?
    let logLevel: String
    let version: String

    /// The address reported to clients (`sys/leader`) and to the other instances sharing a store.
    var apiAddress: String { configuration.apiAddress ?? Self.defaultAPIAddress(for: configuration.listeners.first) }

    func run() async throws {
        let logger = Self.bootstrapLogging(level: logLevel)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        for warning in configuration.warnings { logger.warning("configuration", metadata: ["config.warning": "\(warning)"]) }

        switch configuration.storage {
        case .inMemory:
            let store = try await SQLiteBrokerStore.temporary(logger: logger)
            try await serve(store: store, storageType: "inmem", registry: registry, logger: logger)
        case .sqlite(let directory):
            try ProcessHardening.checkPrivateDirectory(directory)
            let store = try await SQLiteBrokerStore(path: directory + "/leasehold.db", logger: logger)
            try await serve(store: store, storageType: "sqlite", registry: registry, logger: logger)
        case .postgresql(let url):
            // Parsed once (its certificate files read once) for the store's pool and the leader election's session.
            let connection = try PostgresConnectionURL.configuration(from: url)
            let store = PostgresBrokerStore(configuration: connection, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.run() }
                try await store.migrate()
                try await serve(
                    store: store, storageType: "postgresql", sharedStore: connection, registry: registry, logger: logger)
                group.cancelAll()
            }
        }
    }

    /// Builds the seal and broker over an open store and serves until a shutdown signal; closes the store last. With
    /// `sharedStore` (the PostgreSQL store's connection, which several instances may share) the instance takes part
    /// in the leader election; otherwise it alone leads.
    private func serve(
        store: any BrokerStore, storageType: String, sharedStore: PostgresClient.Configuration? = nil,
        registry: PrometheusCollectorRegistry, logger: Logger
    ) async throws {
        let autoUnseal: AutoUnseal
        if case .keyFile(let path) = configuration.seal { autoUnseal = .keyFile(path: path) } else { autoUnseal = .none }
        let seal = try await SealManager(store: store, autoUnseal: autoUnseal, logger: logger)
        let leadership: Leadership = sharedStore == nil ? .sole() : .shared()
        let engineFactory = PostgresEngineFactory(logger: logger)
        let engines = DatabaseEngines(factory: engineFactory)
        let broker = Broker(
            store: store, seal: seal,
            limits: LeaseLimits(defaultTTL: configuration.defaultLeaseTTL, maxTTL: configuration.maxLeaseTTL),
            information: ServerInformation(version: version, storageType: storageType, apiAddress: apiAddress),
            logger: logger, engines: engines,
            loginThrottle: LoginThrottle(
                maximumFailures: configuration.loginFailureLimit,
                window: TimeInterval(configuration.loginFailureWindow.seconds)),
            leadership: leadership,
            // Development mode is unsafe by design; it allows what a developer's own machine may do.
            allowsAPIAuditDeviceCreation: configuration.allowsAPIAuditDeviceCreation || dev != nil)
        if let dev {
            try await initializeDevelopmentServer(broker: broker, options: dev, apiAddress: apiAddress)
        } else if try await seal.autoUnsealIfConfigured() {
            logger.info("unsealed from the key file")
        }
        var certificates: [ListenerCertificates] = []
        // What must run once per store runs only on the leader (always this instance with the embedded store).
        func leaderOnly(_ service: any Service, _ name: String) -> any Service {
            LeaderOnlyService(service, name: name, leadership: leadership, logger: logger)
        }
        let auditSinks = AuditSinkRegistry(broker: broker, logger: logger, makeSink: AuditSinks.make)
        var services: [any Service] = []
        if let sharedStore {
            // First, so that it is shut down last (the group stops services in reverse order): the lock is released
            // only once this instance's leader-only work has stopped. A sealed instance can do none of that work: it
            // does not campaign, and a leader steps down.
            services.append(
                LeaderElectionService(
                    election: PostgresLeaderElection(
                        configuration: sharedStore, leadership: leadership, advertisedAddress: apiAddress,
                        isEligible: { await !seal.status().sealed }, logger: logger)))
        }
        services += [
            EngineRunner(factory: engineFactory, engines: engines), PeriodicService("returning free heap pages", every: .seconds(30), logger: logger) { MemoryDiscipline.trim() },
            DataKeyUsageRecorder(broker: broker, logger: logger).periodicService(),
            LeadershipGauge(leadership: leadership),
            leaderOnly(LeaseReaper(broker: broker, logger: logger), "reaper"),
            leaderOnly(PeriodicService.reconciler(broker: broker, logger: logger), "reconciler"),
            leaderOnly(auditSinks, "audit delivery"),
            leaderOnly(AuditMaintenanceService(
                broker: broker,
                settings: AuditMaintenanceSettings(
                    checkpointInterval: .seconds(configuration.auditCheckpointInterval.seconds),
                    checkpointRows: Int64(configuration.auditCheckpointRows),
                    retention: configuration.auditRetention.map { .seconds($0.seconds) },
                    archiveDirectory: configuration.auditArchiveDirectory),
                logger: logger), "audit maintenance"),
        ]
        for listener in configuration.listeners {
            services.append(
                try makeApplication(
                    listener: listener, reloadables: &certificates, broker: broker, registry: registry, logger: logger))
        }
        let roles = configuration.rolesDirectory.map { RolesDirectory(path: $0, broker: broker, logger: logger) }
        if let roles { services.append(RolesDirectoryLoader(roles: roles, broker: broker)) }
        services.append(ReloadOnHangup(certificates: certificates, roles: roles, auditSinks: auditSinks, logger: logger))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("leasehold started", metadata: ["version": "\(version)", "storage.type": "\(storageType)"])
        do {
            try await group.run()
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        logger.info("leasehold stopped")
    }

    private func initializeDevelopmentServer(broker: Broker, options: DevelopmentOptions, apiAddress: String) async throws {
        let response = try await broker.initializeForDevelopment(rootTokenID: options.rootTokenID)
        print(
            """
            ==> WARNING: Dev mode is enabled! In this mode, Leasehold runs entirely in-memory
            ==> and starts unsealed with a single unseal key. The root token is already
            ==> authenticated to the CLI, so you can immediately begin using Leasehold.

            You may need to set the following environment variables:

                $ export LEASEHOLD_ADDR='\(apiAddress)'

            The unseal key and root token are displayed below in case you want to
            seal/unseal the server or re-authenticate.

            Unseal Key: \(response.unsealKey.revealed)
            Root Token: \(response.rootToken.revealed)

            Development mode should NOT be used in production installations!
            """)
        fflush(nil)
    }

    private func makeApplication(
        listener: ListenerConfiguration, reloadables: inout [ListenerCertificates], broker: Broker, registry: PrometheusCollectorRegistry, logger: Logger
    ) throws -> any Service {
        let (host, port) = try Self.split(address: listener.address)
        var certificates: ListenerCertificates?
        if let tls = listener.tls {
            let loaded = try ListenerCertificates(
                settings: ListenerTLSSettings(
                    certificateFile: tls.certificateFile, keyFile: tls.keyFile, clientCAFile: tls.clientCAFile,
                    requiresClientCertificate: tls.requiresClientCertificate, requiresTLS13: tls.minimumVersion == .tls13,
                    requestsClientCertificates: tls.requestsClientCertificates))
            reloadables.append(loaded)
            certificates = loaded
        } else if dev == nil {
            logger.warning("plaintext listener enabled by configuration (tls_disable)", metadata: ["listener.address": "\(listener.address)"])
        }
        let limits = RequestLimits(
            maximumBodySize: listener.maximumRequestSize, idleTimeout: .seconds(listener.idleTimeout.seconds),
            readTimeout: .seconds(listener.readTimeout.seconds),
            maximumConnections: listener.maximumConnections
                ?? OpenFileLimit.defaultMaximumConnections(listeners: configuration.listeners.count))
        return try BrokerServer.makeListener(
            broker: broker, host: host, port: port, limits: limits,
            certificates: certificates, renderMetrics: { registry.emitToString() }, logger: logger)
    }

    static func split(address: String) throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw LeaseholdError.invalidRequest("invalid listener address \(address)") }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    static func defaultAPIAddress(for listener: ListenerConfiguration?) -> String {
        guard let listener else { return "" }
        return (listener.tls == nil ? "http://" : "https://") + listener.address
    }

    static func bootstrapLogging(level: String) -> Logger {
        let parsed = Logger.Level(rawValue: level.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
        return Logger(label: "leasehold")
    }
}

/// Re-reads listener certificates and the roles directory, and reopens audit files, when the process receives SIGHUP.
struct ReloadOnHangup: Service {
    let certificates: [ListenerCertificates]
    let roles: RolesDirectory?
    let auditSinks: AuditSinkRegistry
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            for listener in certificates {
                do {
                    try listener.reload()
                    logger.notice("listener certificate reloaded", metadata: ["tls.certificate_file": "\(listener.settings.certificateFile)"])
                } catch {
                    logger.error("listener certificate reload failed; keeping the previous one", metadata: ["tls.certificate_file": "\(listener.settings.certificateFile)"])
                }
            }
            await roles?.apply()
            await auditSinks.reopenAll()
            logger.notice("audit sinks reopened")
        }
    }
}

/// Runs the target-database engines' connection pools for the server's lifetime.
struct EngineRunner: Service {
    let factory: PostgresEngineFactory
    let engines: DatabaseEngines

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await factory.run() }
            try? await gracefulShutdown()
            await engines.shutdown()
            factory.finish()
        }
    }
}

/// The configured directory of role templates, applied to the broker as the system.
struct RolesDirectory {
    let path: String
    let broker: Broker
    let logger: Logger

    /// Parses every template and writes it; logs each failure without stopping the others.
    func apply() async {
        guard await !broker.seal.isSealed else {
            logger.notice("roles directory not applied: the broker is sealed", metadata: ["roles.directory": "\(path)"])
            return
        }
        let templates: [RoleTemplate]
        do {
            templates = try RoleTemplateParser.parse(directory: path)
        } catch {
            logger.error("roles directory could not be read", metadata: ["roles.directory": "\(path)", "error": "\(error)"])
            return
        }
        var applied = 0
        for template in templates {
            do {
                _ = try await broker.handleAsSystem(
                    LogicalRequest(
                        operation: .update, path: "\(template.mount)/roles/\(template.name)",
                        data: RequestData(template.apiFields), remoteAddress: "roles-directory"),
                    component: "roles-directory")
                applied += 1
            } catch {
                logger.error("role template not applied", metadata: ["roles.file": "\(template.sourceFile)", "error": "\(error)"])
            }
        }
        logger.info("roles directory applied", metadata: ["roles.directory": "\(path)", "roles.applied": "\(applied)"])
    }
}

/// Applies the roles directory once the broker is first unsealed.
struct RolesDirectoryLoader: Service {
    let roles: RolesDirectory
    let broker: Broker

    func run() async throws {
        // Shutting down while still sealed is not an error: the sleep's cancellation ends the wait.
        try? await cancelWhenGracefulShutdown {
            while await broker.seal.isSealed { try await Task.sleep(for: .seconds(1)) }
            await roles.apply()
        }
    }
}

/// Takes part in the leader election of the instances sharing the PostgreSQL store until shutdown.
struct LeaderElectionService: Service {
    let election: PostgresLeaderElection

    func run() async throws {
        await cancelWhenGracefulShutdown { await election.run() }
    }
}
