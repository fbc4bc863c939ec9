/// Whether this broker instance is the one that runs the background work that must run once per store: the
/// reaper, the reconciler, audit maintenance and audit delivery.
///
/// With the embedded store there is one instance and it always leads (``sole()``). Instances sharing a PostgreSQL
/// store elect one leader through the store (``shared()``, set by the store's election); all of them serve
/// requests. Waiting is cancellation-aware: a cancelled ``waitUntil(leading:)`` returns at once.
public final class Leadership: Sendable {
    private struct State {
        var isLeading: Bool
        var leaderAddress: String?
    }

    /// Whether several instances may share the store (and `sys/leader` reports high availability).
    public let isShared: Bool
    private let state: WatchedValue<State>

    private init(isShared: Bool, isLeading: Bool) {
        self.isShared = isShared
        state = WatchedValue(State(isLeading: isLeading))
    }

    /// The leadership of the only instance of a store: always leading.
    public static func sole() -> Leadership { Leadership(isShared: false, isLeading: true) }

    /// The leadership of one of several instances sharing a store: following until its election says otherwise.
    public static func shared() -> Leadership { Leadership(isShared: true, isLeading: false) }

    /// Whether this instance leads now.
    public var isLeading: Bool { state.value.isLeading }

    /// The API address the leading instance advertises, when known (this instance's own when it leads).
    public var leaderAddress: String? { state.value.leaderAddress }

    /// Records the outcome of an election: whether this instance leads, and the leader's address if known. Wakes the
    /// callers waiting for that state.
    public func update(leading: Bool, leaderAddress: String?) {
        state.update { $0 = State(isLeading: leading, leaderAddress: leaderAddress) }
    }

    /// Returns once this instance's leadership is `leading` (at once if it already is), or when the task is
    /// cancelled.
    public func waitUntil(leading: Bool) async {
        await state.wait { $0.isLeading == leading }
    }
}
