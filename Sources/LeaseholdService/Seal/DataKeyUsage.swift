import Foundation
import LeaseholdCore
import Logging
import Metrics
import Synchronization

/// Counts encryptions under the data key, so that the key is rotated long before AES-GCM's limit for random
/// 96-bit nonces (2^32 encryptions per key, NIST SP 800-38D).
///
/// Each instance counts its own encryptions in memory (``recordEncryption()``, one atomic add per store write)
/// and ``DataKeyUsageRecorder`` adds them, every minute, to the store's count for the active term, which all
/// instances sharing the store add to. When that count reaches ``rotationThreshold`` (a quarter of the limit, so
/// the counts an instance loses when it stops, at most a minute's, never matter) the data key is rotated as by
/// `sys/rotate`, with its audit row.
public final class DataKeyUsage: Sendable {
    /// The count at which the data key is rotated by default: 2^30 encryptions.
    public static let defaultRotationThreshold: UInt64 = 1 << 30
    /// The count at which the data key is rotated.
    public let rotationThreshold: UInt64
    private let pending = Atomic<UInt64>(0)

    /// Creates a counter that asks for rotation at `rotationThreshold` encryptions of one term.
    public init(rotationThreshold: UInt64 = DataKeyUsage.defaultRotationThreshold) {
        precondition(rotationThreshold > 0)
        self.rotationThreshold = rotationThreshold
    }

    /// Counts one encryption.
    func recordEncryption() { pending.add(1, ordering: .relaxed) }

    /// The encryptions counted since the last call, now owed to the store's count.
    func takePending() -> UInt64 { pending.exchange(0, ordering: .acquiringAndReleasing) }

    /// Gives back a count that could not be recorded, for the next attempt.
    func restore(_ count: UInt64) { pending.add(count, ordering: .relaxed) }
}

/// The store's count of encryptions under one data-key term (stored encrypted under `system/data-key-usage`).
struct DataKeyUsageRecord: Codable, Sendable {
    var term: UInt32
    var encryptions: UInt64

    static let key = StoreKey(.system, "data-key-usage")
}

/// Records this instance's encryptions in the store and rotates the data key when its term has been used
/// ``DataKeyUsage/rotationThreshold`` times (see ``DataKeyUsage``). Runs on every instance.
public struct DataKeyUsageRecorder: Sendable {
    let broker: Broker
    let logger: Logger

    /// Creates the recorder.
    public init(broker: Broker, logger: Logger) {
        self.broker = broker
        self.logger = logger
    }

    /// Records every `interval`, and once more on the way out (a clean stop loses no count).
    public func periodicService(interval: Duration = .seconds(60)) -> PeriodicService {
        PeriodicService("recording data key usage", every: interval, logger: logger, pass: { try await recordUsage() }) {
            _ = try? await recordUsage()
        }
    }

    /// Adds the pending count to the store's count for the active term and rotates the data key once that reaches
    /// the threshold. While sealed, the count waits. Returns the store's count after the addition.
    @discardableResult
    public func recordUsage() async throws -> UInt64? {
        let usage = broker.dataKeyUsage
        let delta = usage.takePending()
        guard let keys = try? await broker.seal.keys() else {
            usage.restore(delta)
            return nil
        }
        let services = broker.makeServices(keys: keys)
        let total: UInt64
        let term = keys.keyRing.activeTerm
        do {
            let stored = try await services.store.read(DataKeyUsageRecord.self, at: DataKeyUsageRecord.key)
            if let stored, stored.value.term > term {
                // Another instance rotated and this one still holds the older term: its count must not replace the
                // newer term's. It is kept, and counted toward the newer term once this instance holds it.
                usage.restore(delta)
                return stored.value.encryptions
            }
            let base = stored.map { $0.value.term == term ? $0.value.encryptions : 0 } ?? 0
            total = base + delta
            let sealed = try services.store.seal(DataKeyUsageRecord(term: term, encryptions: total), for: DataKeyUsageRecord.key)
            try await services.commit(StoreBatch(operations: [
                .put(DataKeyUsageRecord.key, sealed, stored.map { .version($0.version) } ?? .absent)
            ]))
        } catch {
            usage.restore(delta)
            throw error
        }
        Gauge(label: "leasehold_data_key_encryptions").record(Int64(clamping: total))
        // Rotated once per term: an instance still holding the term another instance already rotated past leaves it.
        if total >= usage.rotationThreshold, try await broker.seal.storedActiveTerm() == term {
            _ = try await broker.handleAsSystem(LogicalRequest(operation: .update, path: "sys/rotate"), component: "data-key-usage")
            logger.notice(
                "data key rotated: its term reached the encryption threshold",
                metadata: ["key.term": "\(term)", "key.encryptions": "\(total)"])
        }
        return total
    }
}
