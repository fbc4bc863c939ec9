import Logging
import ServiceLifecycle

/// Runs a pass every `interval` (the first after one interval) until graceful shutdown. A pass that throws is
/// logged and the next one runs as usual; `finally` runs once on the way out.
public struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let pass: @Sendable () async throws -> Void
    let finally: (@Sendable () async -> Void)?

    /// Creates the service; `name` names the work in the warning logged when a pass fails.
    public init(
        _ name: String, every interval: Duration, logger: Logger, pass: @escaping @Sendable () async throws -> Void,
        finally: (@Sendable () async -> Void)? = nil
    ) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.pass = pass
        self.finally = finally
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown { [name, interval, logger, pass] in
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    try await pass()
                } catch {
                    logger.warning("\(name) failed; will retry", metadata: ["error.type": "\(type(of: error))"])
                }
            }
        }
        await finally?()
    }
}
