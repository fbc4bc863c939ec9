import LeaseholdCore
import Metrics
import ServiceLifecycle

/// Publishes whether this instance leads as the gauge `leasehold_leader` (1 leading, 0 following), for as long as
/// the server runs. With several instances on one store, no instance at 1 means that nothing reaps expired leases.
public struct LeadershipGauge: Service {
    private let leadership: Leadership

    /// A gauge that follows `leadership`.
    public init(leadership: Leadership) {
        self.leadership = leadership
    }

    public func run() async {
        let gauge = Gauge(label: "leasehold_leader")
        await cancelWhenGracefulShutdown { [leadership] in
            while !Task.isCancelled {
                let leading = leadership.isLeading
                gauge.record(leading ? 1 : 0)
                await leadership.waitUntil(leading: !leading)
            }
        }
    }
}
