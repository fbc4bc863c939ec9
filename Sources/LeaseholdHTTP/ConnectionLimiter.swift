import NIOCore
import Synchronization

/// Counts a listener's open connections and refuses new ones beyond `limit`, so a flood of idle or slow clients
/// cannot take every file descriptor the broker needs for its store and its target databases. A refused connection
/// is closed right after it is accepted, before TLS or HTTP; the broker keeps serving the connections it has.
final class ConnectionLimiter: Sendable {
    /// The most connections open at once.
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Takes a place for `channel`, given back when it closes; `false` (and nothing taken) when the listener is full.
    func admit(_ channel: any Channel) -> Bool {
        guard open.add(1, ordering: .relaxed).newValue <= limit else {
            open.subtract(1, ordering: .relaxed)
            return false
        }
        channel.closeFuture.whenComplete { [self] _ in open.subtract(1, ordering: .relaxed) }
        return true
    }
}

/// Why a connection was closed at once: the listener's ``ConnectionLimiter`` was full.
struct ListenerFull: Error {}
