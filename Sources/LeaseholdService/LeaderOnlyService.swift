import LeaseholdCore
import Logging
import ServiceLifecycle

/// Runs a service only while this instance leads (``LeaseholdCore/Leadership``): started when leadership is gained,
/// cancelled when it is lost, started again when it is regained. The reaper, the reconciler, audit maintenance and
/// audit delivery run this way, so that instances sharing a store never run them twice at once. With the embedded
/// store the instance always leads and the service simply runs.
///
/// A service that ends by itself, or fails, while this instance leads ends this one the same way; a graceful
/// shutdown ends it whether or not the instance leads.
public struct LeaderOnlyService: Service {
    private let service: any Service
    private let name: String
    private let leadership: Leadership
    private let logger: Logger

    /// Wraps `service`, named `name` in log lines, to run while `leadership` says this instance leads.
    public init(_ service: any Service, name: String, leadership: Leadership, logger: Logger) {
        self.service = service
        self.name = name
        self.leadership = leadership
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { [service, name, leadership, logger] in
            while !Task.isCancelled {
                await leadership.waitUntil(leading: true)
                if Task.isCancelled { return }
                if leadership.isShared { logger.info("starting leader-only work", metadata: ["service": "\(name)"]) }
                let ended: Result<Void, any Error>? = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
                    group.addTask {
                        do { return .success(try await service.run()) } catch { return .failure(error) }
                    }
                    group.addTask {
                        await leadership.waitUntil(leading: false)
                        return nil
                    }
                    let first = await group.next() ?? nil
                    group.cancelAll()
                    return first
                }
                if Task.isCancelled { return }
                // Leadership was lost first: the service was cancelled; wait to lead again.
                guard let ended else {
                    logger.notice("leadership lost; leader-only work stopped", metadata: ["service": "\(name)"])
                    continue
                }
                return try ended.get()
            }
        }
    }
}
