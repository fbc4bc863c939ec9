import Foundation
import LeaseholdCore

/// Failed-login limits: after `maximumFailures` failures for one key (mount, role or user, client address) within
/// `window`, further attempts get 429 until the window passes. Memory is bounded.
public actor LoginThrottle {
    private var failures: [String: [Date]] = [:]
    let maximumFailures: Int
    let window: TimeInterval

    /// Creates a throttle (defaults: 10 failures per 5 minutes).
    public init(maximumFailures: Int = 10, window: TimeInterval = 300) {
        self.maximumFailures = maximumFailures
        self.window = window
    }

    /// Throws a rate-limit error when `key` has too many recent failures.
    func check(_ key: String, now: Date) throws {
        let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
        failures[key] = recent.isEmpty ? nil : recent
        if recent.count >= maximumFailures {
            throw LeaseholdError(.rateLimited, "too many failed login attempts; try again later")
        }
    }

    /// The most keys tracked at once.
    static let capacity = 100_000

    /// Records a failure for `key`. At capacity, keys whose failures are all outside the window are dropped first,
    /// then the keys whose newest failure is oldest — never every counter at once, so a flood of fresh names
    /// cannot reset the lockout of the names it targets without outnumbering them.
    func recordFailure(_ key: String, now: Date) {
        if failures.count >= Self.capacity, failures[key] == nil {
            failures = failures.filter { $0.value.contains { now.timeIntervalSince($0) < window } }
            if failures.count >= Self.capacity {
                let oldest = failures.sorted { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) }
                for (staleKey, _) in oldest.prefix(Self.capacity / 10) { failures[staleKey] = nil }
            }
        }
        failures[key, default: []].append(now)
        if let count = failures[key]?.count, count > maximumFailures * 2 { failures[key]?.removeFirst(count - maximumFailures * 2) }
    }

    /// Forgets failures of `key` after a success.
    func recordSuccess(_ key: String) {
        failures[key] = nil
    }
}
