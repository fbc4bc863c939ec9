import Foundation
import LeaseholdCore

/// A time-ordered index in a store namespace: keys `<milliseconds since 1970, 15 digits>/<id>`, which sort by time.
/// The lease schedule and the token expiry index are both one.
struct TimeIndex: Sendable {
    /// An entry: its full key and the id it names.
    struct Entry: Sendable {
        let key: String
        let id: String
    }

    let namespace: StoreNamespace

    /// The key of `id` at `time`.
    func key(at time: Date, id: String) -> StoreKey {
        let milliseconds = max(0, Int64((time.timeIntervalSince1970 * 1000).rounded(.down)))
        return StoreKey(namespace, String(format: "%015lld", milliseconds) + "/" + id)
    }

    /// The entries at or before `now`, earliest first, at most `limit`.
    /// Complexity: O(log n + k); reads in pages and stops at the first entry after `now`.
    func due(at now: Date, limit: Int, in store: any BrokerStore) async throws -> [Entry] {
        let cutoff = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        var due: [Entry] = []
        var cursor: String?
        while due.count < limit {
            let size = min(128, limit - due.count)
            let page = try await store.keys(in: namespace, prefix: "", after: cursor, limit: size)
            for key in page {
                guard let (time, id) = Self.parse(key), time <= cutoff else { return due }
                due.append(Entry(key: key, id: id))
            }
            guard page.count == size, let last = page.last else { return due }
            cursor = last
        }
        return due
    }

    /// The earliest time in the index, if any.
    func earliest(in store: any BrokerStore) async throws -> Date? {
        guard let first = try await store.keys(in: namespace, prefix: "", after: nil, limit: 1).first,
            let (milliseconds, _) = Self.parse(first)
        else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
    }

    private static func parse(_ key: String) -> (Int64, String)? {
        guard let slash = key.firstIndex(of: "/"), let time = Int64(key[..<slash]) else { return nil }
        return (time, String(key[key.index(after: slash)...]))
    }
}
