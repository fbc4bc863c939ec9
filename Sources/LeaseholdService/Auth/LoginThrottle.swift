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

    /// How many keys have failures on record (for tests and diagnostics).
    var trackedKeys: Int { failures.count }

    /// Forgets failures of `key` after a success.
    func recordSuccess(_ key: String) {
        failures[key] = nil
    }
}

extension LoginThrottle {
    /// Runs a login `attempt` unless `key` has too many recent failures (429), then records its outcome: success
    /// clears the key's failures, a refusal (400 or 403) counts as one, anything else (an unreachable provider, a
    /// store failure) is not the caller's doing and is not counted. Every auth method guards its logins with this.
    nonisolated func guarding<Result>(
        _ key: String, now: Date, _ attempt: () async throws -> Result
    ) async throws -> Result {
        try await check(key, now: now)
        do {
            let result = try await attempt()
            await recordSuccess(key)
            return result
        } catch let error as LeaseholdError where error.code == .invalidRequest || error.code == .permissionDenied {
            await recordFailure(key, now: now)
            throw error
        }
    }

    /// The part of a throttle key that names the client: its address without the port.
    static func client(_ context: OperationContext) -> String {
        CIDRBlock.host(of: context.request.remoteAddress)
    }
}

