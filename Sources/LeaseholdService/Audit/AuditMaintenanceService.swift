import Foundation
import LeaseholdAuditChain
import LeaseholdCore
import Logging
import ServiceLifecycle

/// When the broker signs checkpoints and applies retention.
public struct AuditMaintenanceSettings: Sendable {
    /// A checkpoint is written when this much time passed since the last one and records were added.
    public var checkpointInterval: Duration
    /// A checkpoint is written as soon as this many records were added since the last one.
    public var checkpointRows: Int64
    /// Records older than this are archived and deleted (`nil`: kept forever).
    public var retention: Duration?
    /// Where archives of deleted records are written.
    public var archiveDirectory: String?
    /// How often the service looks.
    public var pollInterval: Duration

    /// Creates settings (defaults: a checkpoint every 5 minutes or 1,000 records; no retention).
    public init(
        checkpointInterval: Duration = .seconds(300), checkpointRows: Int64 = 1000, retention: Duration? = nil,
        archiveDirectory: String? = nil, pollInterval: Duration = .seconds(10)
    ) {
        self.checkpointInterval = checkpointInterval
        self.checkpointRows = checkpointRows
        self.retention = retention
        self.archiveDirectory = archiveDirectory
        self.pollInterval = pollInterval
    }
}

/// Signs audit checkpoints every N records or minutes and applies retention, while the broker is unsealed.
public struct AuditMaintenanceService: Service {
    let broker: Broker
    let settings: AuditMaintenanceSettings
    let logger: Logger

    /// Creates the service.
    public init(broker: Broker, settings: AuditMaintenanceSettings, logger: Logger) {
        self.broker = broker
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastCheckpoint = ContinuousClock.now
            var lastRetention: ContinuousClock.Instant?
            while !Task.isCancelled {
                try await Task.sleep(for: settings.pollInterval)
                guard let keys = try? await broker.seal.keys() else { continue }
                let trail = AuditTrail(services: broker.makeServices(keys: keys))
                do {
                    if try await checkpointDue(trail, since: lastCheckpoint) {
                        try await trail.checkpoint(now: broker.now(), actor: AuditActor(authMethod: "audit-checkpointer"), requestID: "")
                        lastCheckpoint = .now
                    }
                    if let retention = settings.retention, let directory = settings.archiveDirectory,
                        lastRetention.map({ ContinuousClock.now - $0 > .seconds(3600) }) ?? true
                    {
                        let cutoff = broker.now().addingTimeInterval(-Double(retention.components.seconds))
                        if let archive = try await trail.applyRetention(cutoff: cutoff, directory: directory, now: broker.now()) {
                            logger.notice("audit records archived and deleted by retention", metadata: ["archive": "\(archive)"])
                        }
                        lastRetention = .now
                    }
                } catch let error as LeaseholdError where error.code == .internalError {
                    // The chain no longer verifies (no checkpoint is signed, no record retained): an incident.
                    logger.error("audit maintenance refused: \(error.message)")
                } catch {
                    logger.warning("audit maintenance failed; will retry", metadata: ["error.type": "\(type(of: error))"])
                }
            }
        }
    }

    private func checkpointDue(_ trail: AuditTrail, since last: ContinuousClock.Instant) async throws -> Bool {
        guard let newest = try await trail.services.store.base.newestAuditRecord(), newest.event.type != AuditCheckpoint.eventType else { return false }
        if ContinuousClock.now - last >= settings.checkpointInterval { return true }
        let covered = try await trail.services.store.read(AuditCheckpoint.self, at: AuditTrail.newestCheckpointKey)?.value.sequence ?? 0
        return newest.sequence - covered >= settings.checkpointRows
    }
}
