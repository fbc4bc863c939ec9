import ArgumentParser
import Foundation
import LeaseholdConfig
import LeaseholdCore

/// `leasehold server`: runs the broker.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Run the Leasehold server.",
        discussion: "Use -config=FILE for a configuration file (HCL or JSON), or -dev for a throwaway development server.")

    @Option(name: .customLong("config"), help: "Path to a configuration file (HCL or JSON).")
    var configFile: String?

    @Flag(name: .customLong("dev"), help: "Development mode: in-memory store, initialized and unsealed, plaintext listener.")
    var dev = false

    @Option(name: .customLong("dev-root-token-id"), help: "The root token to use in development mode.")
    var devRootTokenID: String?

    @Option(name: .customLong("dev-listen-address"), help: "The address to listen on in development mode.")
    var devListenAddress = ListenerConfiguration.defaultAddress

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    func validate() throws {
        if dev == (configFile != nil) { throw ValidationError("give exactly one of -config=FILE or -dev") }
    }

    func run() async throws {
        ProcessHardening.ignoreHangupsUntilHandled()
        ProcessHardening.disableCoreDumps()
        OpenFileLimit.raiseToHardLimit()
        MemoryDiscipline.limitArenas()
        let configuration: ServerConfiguration
        if let configFile {
            configuration = try ServerConfiguration.load(contentsOf: configFile)
        } else {
            configuration = ServerConfiguration(
                storage: .inMemory, listeners: [ListenerConfiguration(address: devListenAddress, tls: nil)])
        }
        let runtime = BrokerRuntime(
            configuration: configuration, dev: dev ? DevelopmentOptions(rootTokenID: devRootTokenID) : nil,
            logLevel: logLevel ?? configuration.logLevel ?? "info", version: Leasehold.version)
        try await runtime.run()
    }
}

/// Development-mode settings.
struct DevelopmentOptions {
    /// A caller-chosen root token, or `nil` for a random one.
    var rootTokenID: String?
}

/// Process-level protections applied at start.
enum ProcessHardening {
    /// Ignores SIGHUP from the first instant: its default action ends the process, and a log rotation's HUP may
    /// arrive while the store migrates or the broker unseals, before the reload handler takes it over.
    static func ignoreHangupsUntilHandled() {
        _ = signal(SIGHUP, SIG_IGN)
    }

    /// Disables core dumps so key material never lands on disk after a crash.
    static func disableCoreDumps() {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    }

    /// Refuses a data directory that group or others can read, write or enter.
    static func checkPrivateDirectory(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        guard info.st_mode & 0o077 == 0 else {
            throw LeaseholdError.invalidRequest(
                "refusing data directory \(path): it is accessible by group or others (chmod 700 it)")
        }
    }
}
