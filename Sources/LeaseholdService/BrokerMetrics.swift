import LeaseholdCore
import Metrics

/// The broker's metrics, emitted through swift-metrics (the executable bootstraps Prometheus).
struct BrokerMetrics: Sendable {
    private let commitTimer = Timer(label: "leasehold_store_commit_seconds")

    /// Records one request by path class and status.
    func record(request: LogicalRequest, status: Int, since start: ContinuousClock.Instant) {
        let dimensions = [("path_class", Self.pathClass(request.path)), ("status", String(status))]
        Counter(label: "leasehold_requests_total", dimensions: dimensions).increment()
        Timer(label: "leasehold_request_duration_seconds", dimensions: [("path_class", Self.pathClass(request.path))])
            .recordInterval(since: start)
    }

    /// Records one store commit's latency.
    func recordCommit(since start: ContinuousClock.Instant) {
        commitTimer.recordInterval(since: start)
    }

    /// Records the seal state (1 = sealed).
    static func recordSealed(_ sealed: Bool) {
        Gauge(label: "leasehold_sealed").record(sealed ? 1 : 0)
    }

    /// A low-cardinality class of the path: its first two segments (`sys/mounts`, `auth/token`).
    static func pathClass(_ path: String) -> String {
        path.split(separator: "/").prefix(2).joined(separator: "/")
    }
}

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
