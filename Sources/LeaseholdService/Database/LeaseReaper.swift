import Foundation
import LeaseholdCore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

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
    /// Paces the failing-leases gauge, which counts an index, to once every 10 seconds.
    let failingGaugeUpdate = Pacer(interval: 10)

    /// Creates the reaper.
    public init(broker: Broker, logger: Logger, concurrency: Int = 64, maximumSleep: Duration = .seconds(1)) {
        self.broker = broker
        self.logger = logger
        self.concurrency = concurrency
        self.maximumSleep = maximumSleep
    }

    public func run() async throws {
        let signal = broker.reaperSignal
        let inFlight = InFlightLeases()
        try await cancelWhenGracefulShutdown {
            // Revocations run as children of this group, so a slow or unreachable target never holds up the
            // schedule: each pass only starts what is due and not already being revoked.
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    let pause = await reapOnce(inFlight: inFlight) { work in group.addTask(operation: work) }
                    guard pause > .zero else { continue }
                    // Sleep until the next scheduled time, or until a wake-up arrives, whichever comes first.
                    await withTaskGroup(of: Void.self) { sleeper in
                        sleeper.addTask { try? await Task.sleep(for: pause) }
                        sleeper.addTask { await signal.nextWakeup() }
                        await sleeper.next()
                        sleeper.cancelAll()
                    }
                }
            }
        }
    }

    /// Starts revocations for what is due now (through `start`) and returns how long to wait before looking again.
    func reapOnce(inFlight: InFlightLeases, start: (@escaping @Sendable () async -> Void) -> Void) async -> Duration {
        guard let keys = try? await broker.seal.keys() else { return maximumSleep }
        let services = broker.makeServices(keys: keys)
        let now = broker.now()
        do {
            for entry in try await services.tokens.expired(at: now, limit: 256) {
                try await services.tokens.revokeExpired(entry, now: now)
            }
            // At most `concurrency` of the due leases are in flight, so twice that many holds every one a free slot
            // can take: a pass after each finished revocation reads a short window, not the whole backlog.
            let due = try await services.leases.due(at: now, limit: 2 * concurrency)
            if due.isEmpty {
                if failingGaugeUpdate.isDue(now: now) {
                    Gauge(label: "leasehold_leases_failing").record(
                        try await services.store.base.keys(in: .leaseFailures, prefix: "", after: nil, limit: 100_000).count)
                }
                guard let next = try await services.leases.nextScheduledTime() else { return maximumSleep }
                let wait = next.timeIntervalSince(broker.now())
                return wait <= 0 ? .milliseconds(20) : min(maximumSleep, .milliseconds(Int64(wait * 1000) + 1))
            }
            var started = 0
            for id in due where inFlight.claim(id, limit: concurrency) {
                started += 1
                start { [self] in
                    await revoke(id, services: services, now: now)
                    inFlight.release(id)
                    services.reaperSignal.wake()
                }
            }
            // Everything due is already in flight: look again when one finishes (or soon).
            return started > 0 ? .zero : .milliseconds(200)
        } catch {
            logger.warning("reaper pass failed", metadata: ["error.type": "\(type(of: error))"])
            return maximumSleep
        }
    }

    private func revoke(_ id: String, services: BrokerServices, now: Date) async {
        do {
            guard let lease = try await services.leases.lease(id) else { return }
            // The schedule is kept in whole milliseconds, so a lease can come due a fraction of a millisecond before
            // the instant it expires: it is an expiry when it was scheduled for its expiry.
            let expired = lease.value.expireTime <= max(now, lease.value.scheduledTime)
            let type = lease.value.state == .pending ? LeaseEventType.failed : (expired ? LeaseEventType.expire : LeaseEventType.revoke)
            let result = try await LeaseRevoker(services: services).revoke(
                lease, eventType: type, now: now, actor: AuditActor(authMethod: "reaper"))
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
}

/// Says yes at most once per interval.
final class Pacer: Sendable {
    private let last = Mutex(Date.distantPast)
    let interval: TimeInterval

    init(interval: TimeInterval) { self.interval = interval }

    /// Whether the interval has passed since the last yes (and if so, starts a new one).
    func isDue(now: Date) -> Bool {
        last.withLock { last in
            guard now.timeIntervalSince(last) >= interval else { return false }
            last = now
            return true
        }
    }
}

/// The leases the reaper is revoking right now, so a pass never starts a second revocation of the same lease
/// and never exceeds its concurrency.
final class InFlightLeases: Sendable {
    private let ids = Mutex(Set<String>())

    /// Marks `id` as in flight unless it already is or `limit` revocations are running; returns whether it did.
    func claim(_ id: String, limit: Int) -> Bool {
        ids.withLock { ids in
            guard ids.count < limit, !ids.contains(id) else { return false }
            ids.insert(id)
            return true
        }
    }

    /// Marks `id` as done.
    func release(_ id: String) {
        ids.withLock { _ = $0.remove(id) }
    }
}

extension Timer {
    /// Records the time from `date` to now.
    func recordInterval(since date: Date) {
        recordNanoseconds(Int64(max(0, Date().timeIntervalSince(date)) * 1_000_000_000))
    }
}
