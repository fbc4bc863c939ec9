import Foundation
import Hummingbird
import HummingbirdTLS
import LeaseholdConfig
import LeaseholdCore
import LeaseholdHTTP
import LeaseholdService
import LeaseholdStorePostgres
import LeaseholdStoreSQLite
import Logging
import Metrics
import NIOSSL
import Prometheus
import ServiceLifecycle

/// The composition root: builds the store, seal, broker and listeners from the configuration and runs them in
/// one service group until SIGTERM or SIGINT.
struct BrokerRuntime {
    let configuration: ServerConfiguration
    let dev: DevelopmentOptions?
    let logLevel: String
    let version: String

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
            let store = try PostgresBrokerStore(url: url, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.run() }
                try await store.migrate()
                try await serve(store: store, storageType: "postgresql", registry: registry, logger: logger)
                group.cancelAll()
            }
        }
    }

    /// Builds the seal and broker over an open store and serves until a shutdown signal; closes the store last.
    private func serve(
        store: any BrokerStore, storageType: String, registry: PrometheusCollectorRegistry, logger: Logger
    ) async throws {
        let autoUnseal: AutoUnseal
        if case .keyFile(let path) = configuration.seal { autoUnseal = .keyFile(path: path) } else { autoUnseal = .none }
        let seal = try await SealManager(store: store, autoUnseal: autoUnseal, logger: logger)
        let apiAddress = configuration.apiAddress ?? Self.defaultAPIAddress(for: configuration.listeners.first)
        let broker = Broker(
            store: store, seal: seal,
            limits: LeaseLimits(defaultTTL: configuration.defaultLeaseTTL, maxTTL: configuration.maxLeaseTTL),
            information: ServerInformation(version: version, storageType: storageType, apiAddress: apiAddress),
            logger: logger)
        if let dev {
            try await initializeDevelopmentServer(broker: broker, options: dev, apiAddress: apiAddress)
        } else if try await seal.autoUnsealIfConfigured() {
            logger.info("unsealed from the key file")
        }
        var services: [any Service] = []
        for listener in configuration.listeners {
            services.append(try makeApplication(listener: listener, broker: broker, registry: registry, logger: logger))
        }
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
        listener: ListenerConfiguration, broker: Broker, registry: PrometheusCollectorRegistry, logger: Logger
    ) throws -> any Service {
        let (host, port) = try Self.split(address: listener.address)
        let responder = APIResponder(
            broker: broker, limits: RequestLimits(maximumBodySize: listener.maximumRequestSize),
            renderMetrics: { registry.emitToString() })
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil)
        guard let tls = listener.tls else {
            if dev == nil {
                logger.warning("plaintext listener enabled by configuration (tls_disable)", metadata: ["listener.address": "\(listener.address)"])
            }
            return Application(responder: responder, configuration: configuration, logger: logger)
        }
        let tlsConfiguration = try ListenerTLS.makeConfiguration(tls)
        return Application(
            responder: responder, server: try .tls(.http1(), tlsConfiguration: tlsConfiguration),
            configuration: configuration, logger: logger)
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

/// TLS settings for listeners: TLS 1.2 minimum, optional or required client certificates.
enum ListenerTLS {
    static func makeConfiguration(_ settings: TLSListenerConfiguration) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(settings.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: settings.keyFile, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = settings.minimumVersion == .tls13 ? .tlsv13 : .tlsv12
        if let clientCAFile = settings.clientCAFile {
            configuration.trustRoots = .file(clientCAFile)
            configuration.certificateVerification =
                settings.requiresClientCertificate ? .noHostnameVerification : .optionalVerification
        }
        return configuration
    }
}
