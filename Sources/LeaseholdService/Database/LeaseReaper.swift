import Foundation
import LeaseholdCore
import Logging
import Metrics
import ServiceLifecycle

/// Revokes leases when they expire, cleans up issuances that never completed, and retries failed revocations.
///
/// It reads only what is due, through the schedule index (never every lease), wakes at the next scheduled time
/// or when signalled, and revokes with bounded concurrency. Failures are retried with capped exponential backoff
/// and jitter, forever, and are visible in `sys/leases?type=irrevocable`, the audit table and metrics.
public struct LeaseReaper: Service {
    let broker: Broker
    let logger: Logger
    /// The most revocations in flight at once.
    let concurrency: Int
    /// The longest sleep between two looks at the schedule.
    let maximumSleep: Duration

    /// Creates the reaper.
    public init(broker: Broker, logger: Logger, concurrency: Int = 32, maximumSleep: Duration = .seconds(1)) {
        self.broker = broker
        self.logger = logger
        self.concurrency = concurrency
        self.maximumSleep = maximumSleep
    }

    public func run() async throws {
        let signal = broker.reaperSignal
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let pause = await reapOnce()
                guard pause > .zero else { continue }
                // Sleep until the next scheduled time, or until a wake-up arrives, whichever comes first.
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await Task.sleep(for: pause) }
                    group.addTask { await signal.nextWakeup() }
                    await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    /// Revokes what is due now and returns how long to wait before looking again.
    func reapOnce() async -> Duration {
        guard let keys = try? await broker.seal.keys() else { return maximumSleep }
        let services = broker.makeServices(keys: keys)
        let now = broker.now()
        do {
            for hash in try await services.tokens.expired(at: now, limit: 256) {
                try await services.tokens.revokeExpired(hash: hash, now: now, commit: services.commit)
            }
            let due = try await services.leases.due(at: now, limit: 1024)
            if due.isEmpty {
                Gauge(label: "leasehold_leases_failing").record(
                    try await services.store.base.keys(in: .leaseFailures, prefix: "", after: nil, limit: 100_000).count)
                guard let next = try await services.leases.nextScheduledTime() else { return maximumSleep }
                let wait = next.timeIntervalSince(broker.now())
                return wait <= 0 ? .zero : min(maximumSleep, .milliseconds(Int64(wait * 1000) + 1))
            }
            await revoke(due, services: services, now: now)
            return .zero
        } catch {
            logger.warning("reaper pass failed", metadata: ["error.type": "\(type(of: error))"])
            return maximumSleep
        }
    }

    private func revoke(_ ids: [String], services: BrokerServices, now: Date) async {
        let revoker = LeaseRevoker(services: services)
        let logger = self.logger
        await withTaskGroup(of: Void.self) { group in
            var iterator = ids.makeIterator()
            func addNext() -> Bool {
                guard let id = iterator.next() else { return false }
                group.addTask {
                    do {
                        guard let lease = try await services.leases.lease(id) else { return }
                        let type = lease.value.state == .pending ? "lease.failed" : (lease.value.expireTime <= now ? "lease.expire" : "lease.revoke")
                        let result = try await revoker.revoke(lease, eventType: type, now: now, actor: AuditActor(authMethod: "reaper"))
                        switch result {
                        case .revoked:
                            Timer(label: "leasehold_reaper_lag_seconds").recordInterval(since: lease.value.scheduledTime)
                        case .retrying(let reason):
                            logger.notice("revocation failed; will retry", metadata: ["lease.id": "\(id)", "reason": "\(reason)"])
                        }
                    } catch {
                        logger.warning("reaper could not process a lease", metadata: ["lease.id": "\(id)", "error.type": "\(type(of: error))"])
                    }
                }
                return true
            }
            for _ in 0..<concurrency where addNext() {}
            while await group.next() != nil { _ = addNext() }
        }
    }
}

extension Timer {
    /// Records the time from `date` to now.
    func recordInterval(since date: Date) {
        recordNanoseconds(Int64(max(0, Date().timeIntervalSince(date)) * 1_000_000_000))
    }
}
