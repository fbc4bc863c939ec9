import LeaseholdCore
import LeaseholdHCL

/// Decodes a parsed configuration document into a ``ServerConfiguration``.
enum ServerConfigurationDecoder {
    private static let logLevels: Set<String> = ["trace", "debug", "info", "warn", "warning", "err", "error"]

    static func decode(_ document: HCLObject) throws -> ServerConfiguration {
        var reader = ConfigurationReader(document)
        var warnings: [String] = []
        reader.markRead("storage", "backend", "listener", "seal")
        let storage = try decodeStorage(document, warnings: &warnings)
        let listeners = try document.blocks(named: "listener", labelCount: 1).map { block in
            try decodeListener(block, warnings: &warnings)
        }
        let seal = try decodeSeal(document, warnings: &warnings)
        // 0 means the default, as in Vault (not "no limit": tokens would never expire).
        let defaultTTL = try reader.ttl("default_lease_ttl").flatMap { $0.isZero ? nil : $0 } ?? ServerConfiguration.defaultLeaseTTLLimit
        let maxTTL = try reader.ttl("max_lease_ttl").flatMap { $0.isZero ? nil : $0 } ?? ServerConfiguration.defaultLeaseTTLLimit
        guard defaultTTL <= maxTTL else {
            throw reader.error("default_lease_ttl (\(defaultTTL)) cannot exceed max_lease_ttl (\(maxTTL))")
        }
        let logLevel = try reader.string("log_level")?.lowercased()
        if let logLevel, !logLevels.contains(logLevel) {
            throw reader.error("invalid log_level \(HCLError.excerpt(logLevel))")
        }
        let loginFailureLimit = try reader.integer("login_failure_limit") ?? 10
        guard (1...1_000_000).contains(loginFailureLimit) else { throw reader.error("login_failure_limit must be at least 1") }
        let loginFailureWindow = try reader.ttl("login_failure_window") ?? TTL(seconds: 300)
        guard loginFailureWindow.seconds >= 1 else { throw reader.error("login_failure_window must be at least 1s") }
        let checkpointInterval = try reader.ttl("audit_checkpoint_interval") ?? TTL(seconds: 300)
        let checkpointRows = try reader.integer("audit_checkpoint_rows") ?? 1000
        guard checkpointInterval.seconds >= 1, checkpointRows >= 1 else {
            throw reader.error("audit_checkpoint_interval and audit_checkpoint_rows must be positive")
        }
        let retention = try reader.ttl("audit_retention")
        let archiveDirectory = try reader.string("audit_archive_directory")
        if let retention, retention.seconds > 0, archiveDirectory?.isEmpty ?? true {
            throw reader.error("audit_retention needs audit_archive_directory: expired records are archived before deletion")
        }
        if try reader.bool("ui") == true { warnings.append("ui is not supported and was ignored") }
        if try reader.string("cluster_addr") != nil {
            warnings.append("cluster_addr was ignored: clustering is not supported")
        }
        return ServerConfiguration(
            storage: storage,
            listeners: listeners,
            seal: seal,
            defaultLeaseTTL: defaultTTL,
            maxLeaseTTL: maxTTL,
            apiAddress: try reader.string("api_addr"),
            disableMlock: try reader.bool("disable_mlock") ?? false,
            logLevel: logLevel,
            rolesDirectory: try reader.string("roles_directory"),
            loginFailureLimit: loginFailureLimit,
            loginFailureWindow: loginFailureWindow,
            auditCheckpointInterval: checkpointInterval,
            auditCheckpointRows: checkpointRows,
            auditRetention: retention.flatMap { $0.seconds > 0 ? $0 : nil },
            auditArchiveDirectory: archiveDirectory,
            allowsAPIAuditDeviceCreation: try reader.bool("unsafe_allow_api_audit_creation") ?? false,
            warnings: warnings + reader.unreadKeyWarnings
        )
    }

    private static func decodeStorage(_ document: HCLObject, warnings: inout [String]) throws -> StorageConfiguration {
        let blocks =
            try document.blocks(named: "storage", labelCount: 1) + document.blocks(named: "backend", labelCount: 1)
        guard blocks.count == 1, let block = blocks.first else {
            throw ConfigurationError(
                blocks.isEmpty
                    ? "a storage block is required" : "exactly one storage block is allowed, found \(blocks.count)"
            )
        }
        let type = block.labels[0]
        var reader = ConfigurationReader(block.body, context: "storage \(HCLError.excerpt(type))")
        let storage: StorageConfiguration
        switch type {
        case "sqlite":
            guard let directory = try reader.string("path"), !directory.isEmpty else {
                throw reader.error("path is required")
            }
            storage = .sqlite(directory: directory)
        case "postgresql":
            guard let url = try reader.string("connection_url"), !url.isEmpty else {
                throw reader.error("connection_url is required")
            }
            storage = .postgresql(connectionURL: url)
        case "inmem":
            storage = .inMemory
        default:
            throw ConfigurationError(
                "unsupported storage type \(HCLError.excerpt(type)) (supported: sqlite, postgresql, inmem)"
            )
        }
        warnings += reader.unreadKeyWarnings
        return storage
    }

    private static func decodeListener(_ block: HCLBlock, warnings: inout [String]) throws -> ListenerConfiguration {
        let type = block.labels[0]
        var reader = ConfigurationReader(block.body, context: "listener \(HCLError.excerpt(type))")
        guard type == "tcp" else {
            throw ConfigurationError("unsupported listener type \(HCLError.excerpt(type)) (supported: tcp)")
        }
        let address = try reader.string("address") ?? ListenerConfiguration.defaultAddress
        let size = try reader.integer("max_request_size") ?? 0
        guard size >= 0 else { throw reader.error("max_request_size cannot be negative: the limit cannot be disabled") }
        let idleTimeout = try reader.ttl("http_idle_timeout") ?? ListenerConfiguration.defaultTimeout
        let readTimeout = try reader.ttl("http_read_timeout") ?? ListenerConfiguration.defaultTimeout
        guard idleTimeout.seconds >= 1, readTimeout.seconds >= 1 else {
            throw reader.error("http_idle_timeout and http_read_timeout must be at least 1s: the bounds cannot be disabled")
        }
        let maximumConnections = try reader.integer("max_connections")
        if let maximumConnections, maximumConnections < 1 {
            throw reader.error("max_connections must be at least 1: the bound cannot be disabled")
        }
        let tls: TLSListenerConfiguration?
        if try reader.bool("tls_disable") == true {
            reader.markRead(
                "tls_cert_file",
                "tls_key_file",
                "tls_client_ca_file",
                "tls_require_and_verify_client_cert",
                "tls_disable_client_certs",
                "tls_min_version"
            )
            warnings.append("listener \(HCLError.excerpt(address)): TLS is disabled")
            tls = nil
        } else {
            tls = try decodeTLS(&reader)
        }
        warnings += reader.unreadKeyWarnings
        return ListenerConfiguration(
            address: address,
            tls: tls,
            maximumRequestSize: size == 0 ? ListenerConfiguration.defaultMaximumRequestSize : size,
            idleTimeout: idleTimeout,
            readTimeout: readTimeout,
            maximumConnections: maximumConnections
        )
    }

    private static func decodeTLS(_ reader: inout ConfigurationReader) throws -> TLSListenerConfiguration {
        guard let certificate = try reader.string("tls_cert_file"), let key = try reader.string("tls_key_file") else {
            throw reader.error("tls_cert_file and tls_key_file are required unless tls_disable is set")
        }
        let clientCA = try reader.string("tls_client_ca_file")
        let requiresClientCertificate = try reader.bool("tls_require_and_verify_client_cert") ?? false
        if requiresClientCertificate, clientCA == nil {
            throw reader.error("tls_require_and_verify_client_cert needs tls_client_ca_file")
        }
        let disablesClientCertificates = try reader.bool("tls_disable_client_certs") ?? false
        if disablesClientCertificates, requiresClientCertificate || clientCA != nil {
            throw reader.error("tls_disable_client_certs cannot be combined with tls_client_ca_file or tls_require_and_verify_client_cert")
        }
        let versionName = try reader.string("tls_min_version") ?? TLSListenerConfiguration.Version.tls12.rawValue
        guard let version = TLSListenerConfiguration.Version(rawValue: versionName) else {
            if versionName == "tls10" || versionName == "tls11" {
                throw reader.error(
                    "tls_min_version \(HCLError.excerpt(versionName)) is too old: TLS 1.2 is the minimum"
                )
            }
            throw reader.error("invalid tls_min_version \(HCLError.excerpt(versionName)) (tls12 or tls13)")
        }
        return TLSListenerConfiguration(
            certificateFile: certificate,
            keyFile: key,
            clientCAFile: clientCA,
            requiresClientCertificate: requiresClientCertificate,
            minimumVersion: version,
            requestsClientCertificates: !disablesClientCertificates
        )
    }

    private static func decodeSeal(_ document: HCLObject, warnings: inout [String]) throws -> SealConfiguration? {
        let blocks = try document.blocks(named: "seal", labelCount: 1)
        guard let block = blocks.first else { return nil }
        guard blocks.count == 1 else { throw ConfigurationError("only one seal block is allowed") }
        let type = block.labels[0]
        var reader = ConfigurationReader(block.body, context: "seal \(HCLError.excerpt(type))")
        let seal: SealConfiguration
        switch type {
        case "shamir":
            seal = .shamir
        case "keyfile":
            guard let path = try reader.string("path"), !path.isEmpty else { throw reader.error("path is required") }
            seal = .keyFile(path: path)
        default:
            throw ConfigurationError("unsupported seal type \(HCLError.excerpt(type)) (supported: shamir, keyfile)")
        }
        warnings += reader.unreadKeyWarnings
        return seal
    }
}
