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

    /// Records a failure for `key`.
    func recordFailure(_ key: String, now: Date) {
        if failures.count > 100_000 { failures.removeAll() }
        failures[key, default: []].append(now)
    }

    /// Forgets failures of `key` after a success.
    func recordSuccess(_ key: String) {
        failures[key] = nil
    }
}
