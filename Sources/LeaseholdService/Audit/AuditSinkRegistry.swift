import Foundation
import LeaseholdCore
import Logging
import ServiceLifecycle

/// Runs one ``AuditSinkRunner`` per enabled audit device, for the server's lifetime.
///
/// It reads the device table at start (once unsealed), again right after a commit that followed an enable or
/// disable, and every poll interval as a safety net; it starts sinks for new devices and stops those of removed
/// ones. A device whose sink cannot be built (an unreadable CA file) is retried at the next look; its rows wait in
/// the audit table meanwhile.
public actor AuditSinkRegistry: Service {
    /// Builds the sink for a device from its parsed settings (the executable's transports).
    public typealias SinkFactory = @Sendable (AuditDevice, AuditSinkSettings) throws -> any AuditSink

    private struct RunningSink {
        let sink: any AuditSink
        let task: Task<Void, Never>
    }

    let broker: Broker
    let retry: AuditRetryPolicy
    let logger: Logger
    let makeSink: SinkFactory
    private var running: [String: RunningSink] = [:]

    /// Creates the registry; nothing runs before ``run()``.
    public init(broker: Broker, retry: AuditRetryPolicy = AuditRetryPolicy(), logger: Logger, makeSink: @escaping SinkFactory) {
        self.broker = broker
        self.retry = retry
        self.logger = logger
        self.makeSink = makeSink
    }

    /// Keeps the running sinks in step with the device table until graceful shutdown, then stops them all.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.followDeviceTable() }
        for entry in running.values { entry.task.cancel() }
        for entry in running.values { await entry.task.value }
        running = [:]
    }

    /// Reopens every sink's destination (file sinks, after log rotation).
    public func reopenAll() async {
        for entry in running.values { await entry.sink.reopen() }
    }

    private func followDeviceTable() async {
        let signal = broker.auditSignal
        var seen = signal.generation
        while !Task.isCancelled {
            await synchronize()
            let deadline = ContinuousClock.now + retry.poll
            repeat {
                seen = await signal.wait(after: seen, timeout: deadline - ContinuousClock.now)
            } while !signal.takeDevicesChanged() && ContinuousClock.now < deadline && !Task.isCancelled
        }
    }

    private func synchronize() async {
        guard let keys = try? await broker.seal.keys() else { return }
        let devices: [AuditDevice]
        do {
            devices = try await AuditDeviceTable(store: broker.makeServices(keys: keys).store).devices()
        } catch {
            logger.warning("audit device table could not be read", metadata: ["error.type": "\(type(of: error))"])
            return
        }
        let enabled = Set(devices.map(\.id))
        for (id, entry) in running where !enabled.contains(id) {
            entry.task.cancel()
            await entry.task.value
            running[id] = nil
        }
        for device in devices where running[device.id] == nil {
            do {
                let sink = try makeSink(device, try device.settings())
                let runner = AuditSinkRunner(device: device, sink: sink, broker: broker, logger: logger, retry: retry)
                running[device.id] = RunningSink(sink: sink, task: Task {
                    await runner.run()
                    await sink.close()
                })
                logger.info("audit device started", metadata: ["audit.device": "\(device.path)", "audit.type": "\(device.type)"])
            } catch {
                logger.error("audit device could not start; its rows wait in the audit table", metadata: [
                    "audit.device": "\(device.path)",
                    "error": "\((error as? LeaseholdError)?.message ?? "\(type(of: error))")",
                ])
            }
        }
    }
}
