import Synchronization

/// Mutual exclusion per key, for check-then-write sequences that a store's conditional writes cannot express (a
/// count against a cap, then the insert that the count allowed). One holder per key at a time; waiters are served in
/// arrival order; different keys never wait for each other. Holds must be short and always released: a waiter cannot
/// be cancelled.
public final class KeyedAsyncLock: Sendable {
    /// Holders by key, each with the callers waiting for it in arrival order.
    private let waiters = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    /// Creates a lock with no holders.
    public init() {}

    /// Waits until `key` is free and takes it. The returned hold releases it once, at the first ``Hold/release()``.
    public func acquire(_ key: String) async -> Hold {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let takenAtOnce = waiters.withLock { waiters -> Bool in
                guard waiters[key] != nil else {
                    waiters[key] = []
                    return true
                }
                waiters[key]?.append(continuation)
                return false
            }
            if takenAtOnce { continuation.resume() }
        }
        return Hold(lock: self, key: key)
    }

    /// Hands `key` to the oldest waiter, or frees it.
    private func release(_ key: String) {
        let next = waiters.withLock { waiters -> CheckedContinuation<Void, Never>? in
            guard var queue = waiters[key], !queue.isEmpty else {
                waiters[key] = nil
                return nil
            }
            let next = queue.removeFirst()
            waiters[key] = queue
            return next
        }
        next?.resume()
    }

    /// Whether `key` is held (for tests and diagnostics).
    public func isHeld(_ key: String) -> Bool {
        waiters.withLock { $0[key] != nil }
    }

    /// How many callers wait for `key` (for tests and diagnostics).
    public func waiterCount(_ key: String) -> Int {
        waiters.withLock { $0[key]?.count ?? 0 }
    }

    /// One acquisition of a key; releasing it twice releases it once, and a hold that is dropped without being
    /// released releases its key then (a forgotten release must not lock a key until restart).
    public final class Hold: Sendable {
        private let lock: KeyedAsyncLock
        private let key: String
        private let released = Mutex(false)

        fileprivate init(lock: KeyedAsyncLock, key: String) {
            self.lock = lock
            self.key = key
        }

        deinit { release() }

        /// Releases the key, unless this hold already did.
        public func release() {
            let first = released.withLock { released -> Bool in
                defer { released = true }
                return !released
            }
            if first { lock.release(key) }
        }
    }
}
