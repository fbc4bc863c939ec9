import Foundation
import LeaseholdCore
import LeaseholdHCL

/// The server configuration file (Vault/OpenBao syntax, HCL or JSON).
public struct ServerConfiguration: Sendable, Hashable {
    /// The default and maximum lease TTL when the file sets none: 768 hours (32 days), as in Vault.
    public static let defaultLeaseTTLLimit = TTL(seconds: 768 * 3600)
    /// The largest configuration file accepted, in bytes.
    public static let maximumFileSize = 1 << 20

    /// The broker's own store.
    public var storage: StorageConfiguration
    /// The HTTP listeners.
    public var listeners: [ListenerConfiguration]
    /// The seal, or `nil` for the default (Shamir).
    public var seal: SealConfiguration?
    /// The lease TTL used when a role or mount sets none.
    public var defaultLeaseTTL: TTL
    /// The longest lease TTL allowed.
    public var maxLeaseTTL: TTL
    /// The address clients should use to reach this server (`api_addr`).
    public var apiAddress: String?
    /// Whether memory locking is disabled (`disable_mlock`).
    public var disableMlock: Bool
    /// The log level (`trace`, `debug`, `info`, `warn`, `error`), if set.
    public var logLevel: String?
    /// A directory of role definition files to load at startup (`roles_directory`).
    public var rolesDirectory: String?
    /// Failed logins allowed per auth role (or user) and client address within ``loginFailureWindow``
    /// before further attempts get 429 (`login_failure_limit`, default 10).
    public var loginFailureLimit: Int
    /// The window of ``loginFailureLimit`` (`login_failure_window`, default 5m).
    public var loginFailureWindow: TTL
    /// A signed audit checkpoint is written at least this often while records are added (`audit_checkpoint_interval`).
    public var auditCheckpointInterval: TTL
    /// …and after at most this many records (`audit_checkpoint_rows`).
    public var auditCheckpointRows: Int
    /// Audit records older than this are archived, then deleted (`audit_retention`; `nil`: kept forever).
    public var auditRetention: TTL?
    /// Where retention writes its archives (`audit_archive_directory`).
    public var auditArchiveDirectory: String?
    /// Whether `sys/audit` may enable audit devices (`unsafe_allow_api_audit_creation`, default false, as in OpenBao):
    /// a file device writes where the broker's user can, so enabling one is host access, not an API operation.
    public var allowsAPIAuditDeviceCreation: Bool
    /// Human-readable notes about settings that were ignored (unknown keys, unsupported features).
    public var warnings: [String]

    /// Creates a configuration.
    public init(
        storage: StorageConfiguration,
        listeners: [ListenerConfiguration],
        seal: SealConfiguration? = nil,
        defaultLeaseTTL: TTL = defaultLeaseTTLLimit,
        maxLeaseTTL: TTL = defaultLeaseTTLLimit,
        apiAddress: String? = nil,
        disableMlock: Bool = false,
        logLevel: String? = nil,
        rolesDirectory: String? = nil,
        loginFailureLimit: Int = 10,
        loginFailureWindow: TTL = TTL(seconds: 300),
        auditCheckpointInterval: TTL = TTL(seconds: 300),
        auditCheckpointRows: Int = 1000,
        auditRetention: TTL? = nil,
        auditArchiveDirectory: String? = nil,
        allowsAPIAuditDeviceCreation: Bool = false,
        warnings: [String] = []
    ) {
        self.allowsAPIAuditDeviceCreation = allowsAPIAuditDeviceCreation
        self.auditCheckpointInterval = auditCheckpointInterval
        self.auditCheckpointRows = auditCheckpointRows
        self.auditRetention = auditRetention
        self.auditArchiveDirectory = auditArchiveDirectory
        self.loginFailureLimit = loginFailureLimit
        self.loginFailureWindow = loginFailureWindow
        self.storage = storage
        self.listeners = listeners
        self.seal = seal
        self.defaultLeaseTTL = defaultLeaseTTL
        self.maxLeaseTTL = maxLeaseTTL
        self.apiAddress = apiAddress
        self.disableMlock = disableMlock
        self.logLevel = logLevel
        self.rolesDirectory = rolesDirectory
        self.warnings = warnings
    }

    /// Reads and parses the configuration file at `path` (at most ``maximumFileSize`` bytes).
    ///
    /// Throws ``LeaseholdError`` (invalid request) naming the file when it cannot be read or is invalid.
    public static func load(contentsOf path: String) throws -> ServerConfiguration {
        let filename = URL(fileURLWithPath: path).lastPathComponent
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > maximumFileSize {
                throw LeaseholdError.invalidRequest("configuration \(filename): file exceeds \(maximumFileSize) bytes")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as LeaseholdError {
            throw error
        } catch {
            throw LeaseholdError(.invalidRequest, "configuration \(filename): cannot read the file", underlying: error)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw LeaseholdError.invalidRequest("configuration \(filename): the file is not UTF-8")
        }
        return try parse(text: text, filename: filename)
    }

    /// Parses configuration text; JSON when the first non-space character is `{` (or `filename` ends in `.json`),
    /// HCL otherwise. `filename` only labels error messages.
    ///
    /// Unknown keys are accepted and reported in ``warnings``. Throws ``LeaseholdError`` (invalid request) with a
    /// message `configuration <filename>: <problem>` when a known setting is missing or invalid.
    public static func parse(text: String, filename: String = "config.hcl") throws -> ServerConfiguration {
        do {
            let options = HCL.ParseOptions(maximumSize: maximumFileSize)
            let isJSON = filename.hasSuffix(".json") || HCL.looksLikeJSON(text)
            let document = isJSON ? try HCL.parse(json: text, options: options) : try HCL.parse(text, options: options)
            return try ServerConfigurationDecoder.decode(document)
        } catch let error as HCLError {
            throw LeaseholdError.invalidRequest("configuration \(filename): \(error.description)")
        } catch let error as ConfigurationError {
            throw LeaseholdError.invalidRequest("configuration \(filename): \(error.message)")
        }
    }
}
