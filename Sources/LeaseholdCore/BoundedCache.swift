import Synchronization

/// A thread-safe map with at most `capacity` entries; when full, it starts over (the workloads it serves hold a
/// few hot entries, so a rare full reset costs less than tracking recency).
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// The most entries kept.
    public let capacity: Int
    private let entries = Mutex<[Key: Value]>([:])

    /// Creates an empty cache.
    public init(capacity: Int) {
        precondition(capacity > 0, "a cache holds at least one entry")
        self.capacity = capacity
    }

    /// The value remembered for `key`.
    public func value(for key: Key) -> Value? {
        entries.withLock { $0[key] }
    }

    /// Remembers `value` for `key`.
    public func remember(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
    }

    /// The value for `key`, computed and remembered if absent (`compute` runs outside the lock; `nil` is not
    /// remembered).
    public func value(for key: Key, orCompute compute: () throws -> Value?) rethrows -> Value? {
        if let cached = value(for: key) { return cached }
        guard let computed = try compute() else { return nil }
        remember(computed, for: key)
        return computed
    }

    /// How many entries are held.
    public var count: Int { entries.withLock { $0.count } }
}
