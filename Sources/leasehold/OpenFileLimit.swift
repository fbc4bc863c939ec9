import LeaseholdHTTP

#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit, which bounds connections, store files and target database sockets together.
enum OpenFileLimit {
    /// Raises the soft limit to the hard one, as Go programs (Vault included) do at start.
    static func raiseToHardLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// The limit in force (1,024 when it cannot be read).
    static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)
    }

    /// The connection bound of each of `listeners` listeners without `max_connections`: together at most half the
    /// open-file limit, so the store and the target databases keep descriptors however many clients connect; each
    /// between 64 and 4,096.
    static func defaultMaximumConnections(listeners: Int) -> Int {
        min(RequestLimits.defaultMaximumConnections, max(64, current / 2 / max(1, listeners)))
    }
}
