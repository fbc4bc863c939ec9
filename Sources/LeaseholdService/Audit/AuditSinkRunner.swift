import Foundation
import LeaseholdCore
import Logging
import Metrics

/// Delivers one audit device's rows: reads the audit table after the device's cursor, hands rows to the sink in
/// sequence order, and commits the cursor past each acknowledged row.
///
/// The audit table is the source of truth: a failing sink only falls behind (its lag gauge grows); it never blocks
/// requests and no row is skipped. A row is offered again only when the process stops between the sink's
/// acknowledgement and the cursor commit.
struct AuditSinkRunner: Sendable {
    let device: AuditDevice
    let sink: any AuditSink
    let broker: Broker
    let logger: Logger
    let retry: AuditRetryPolicy
    /// Rows read and delivered per batch.
    let batchSize = 256

    /// Runs until the task is cancelled or the device is disabled.
    func run() async {
        let signal = broker.auditSignal
        let lag = Gauge(label: "leasehold_audit_sink_lag_rows", dimensions: [("device", device.path)])
        let failures = Counter(label: "leasehold_audit_sink_failures_total", dimensions: [("device", device.path)])
        var seen = signal.generation
        var failed = 0
        while !Task.isCancelled {
            do {
                guard try await deliverPending(lag: lag) else { return }
                failed = 0
                seen = await signal.wait(after: seen, timeout: retry.poll)
            } catch let failure as AuditDeliveryFailure {
                failed += 1
                failures.increment()
                if failed == 1 || failed.isMultiple(of: 20) {
                    logger.warning("audit sink delivery failed; retrying", metadata: [
                        "audit.device": "\(device.path)", "audit.reason": "\(failure.reason)", "audit.attempts": "\(failed)",
                    ])
                }
                if let head = try? await broker.store.auditHeadSequence(),
                    let cursor = try? await readCursor()
                {
                    lag.record(max(0, head - cursor.value.sequence))
                }
                try? await Task.sleep(for: retry.delay(afterFailures: failed))
            } catch {
                // Sealed, or the store is unavailable: nothing to deliver from until it is back.
                seen = await signal.wait(after: seen, timeout: retry.poll)
            }
        }
    }

    /// Delivers everything after the cursor. Returns `false` when the device was disabled (its cursor is gone).
    private func deliverPending(lag: Gauge) async throws -> Bool {
        while !Task.isCancelled {
            guard var cursor = try await readCursor() else { return false }
            let records = try await broker.store.auditRecords(after: cursor.value.sequence, limit: batchSize)
            guard let last = records.last else {
                lag.record(0)
                return true
            }
            guard records.first?.sequence == cursor.value.sequence + 1 || cursor.value.sequence == 0 else {
                throw AuditDeliveryFailure(delivered: 0, reason: "audit rows after the cursor are missing (retention?)")
            }
            do {
                try await sink.deliver(records)
            } catch {
                if error.delivered > 0 { cursor = try await advance(cursor, to: records[min(error.delivered, records.count) - 1].sequence) }
                throw error
            }
            cursor = try await advance(cursor, to: last.sequence)
            if records.count < batchSize {
                lag.record(0)
                return true
            }
            lag.record(max(0, try await broker.store.auditHeadSequence() - last.sequence))
        }
        return true
    }

    private func readCursor() async throws -> Versioned<AuditCursor>? {
        let keys = try await broker.seal.keys()
        return try await broker.makeServices(keys: keys).store.read(AuditCursor.self, at: device.cursorKey)
    }

    /// Commits the cursor at `sequence`, conditional on its version: a disabled device's cursor is never revived.
    private func advance(_ cursor: Versioned<AuditCursor>, to sequence: Int64) async throws -> Versioned<AuditCursor> {
        let store = broker.makeServices(keys: try await broker.seal.keys()).store
        let sealed = try store.seal(AuditCursor(sequence: sequence), for: device.cursorKey)
        try await broker.commit(StoreBatch(operations: [.put(device.cursorKey, sealed, .version(cursor.version))]))
        return Versioned(value: AuditCursor(sequence: sequence), version: cursor.version + 1)
    }
}

/// How often sinks look for rows without a wake-up, and how long they wait after failures.
public struct AuditRetryPolicy: Sendable {
    /// The longest wait between two looks at the audit table (a safety net for commits that did not signal).
    public var poll: Duration
    /// The first retry delay; it doubles per consecutive failure.
    public var initialDelay: Duration
    /// The longest retry delay.
    public var maximumDelay: Duration

    /// Creates a policy.
    public init(poll: Duration = .seconds(1), initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(30)) {
        self.poll = poll
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The delay after `failures` consecutive failures: capped exponential backoff with up to 20 % jitter.
    func delay(afterFailures failures: Int) -> Duration {
        let doubled = initialDelay * (1 << min(failures - 1, 20))
        let capped = min(doubled, maximumDelay)
        return capped + capped * Double.random(in: 0...0.2)
    }
}
