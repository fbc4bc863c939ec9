import LeaseholdCore
import Metrics

/// The broker's metrics, emitted through swift-metrics (the executable bootstraps Prometheus).
struct BrokerMetrics: Sendable {
    private let commitTimer = Timer(label: "leasehold_store_commit_seconds")

    /// Records one request by path class and status; a request that matched no route is classed `unmatched`.
    func record(request: LogicalRequest, routed: Bool, status: Int, since start: ContinuousClock.Instant) {
        let pathClass = routed ? Self.pathClass(request.path) : "unmatched"
        Counter(label: "leasehold_requests_total", dimensions: [("path_class", pathClass), ("status", String(status))]).increment()
        Timer(label: "leasehold_request_duration_seconds", dimensions: [("path_class", pathClass)]).recordInterval(since: start)
    }

    /// Records one store commit's latency.
    func recordCommit(since start: ContinuousClock.Instant) {
        commitTimer.recordInterval(since: start)
    }

    /// Records the seal state (1 = sealed).
    static func recordSealed(_ sealed: Bool) {
        Gauge(label: "leasehold_sealed").record(sealed ? 1 : 0)
    }

    /// The class of a routed path: its first two segments (`sys/mounts`, `auth/token`, `database/creds`), so as many
    /// as the routes and mounts give, at most 128 characters.
    static func pathClass(_ path: String) -> String {
        String(path.split(separator: "/").prefix(2).joined(separator: "/").prefix(128))
    }
}

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
