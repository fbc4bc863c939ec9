import Foundation
import LeaseholdCore

/// Failed-login limits: after `maximumFailures` failures for one key (mount, role or user, client address) within
/// `window`, further attempts get 429 until the window passes. Attempts still running count against the budget
/// too, so concurrent guesses cannot all pass the check before the first failure is recorded. Memory is bounded.
public actor LoginThrottle {
    private var failures: [String: [Date]] = [:]
    /// Attempts admitted and not yet settled, per key.
    private var inFlight: [String: Int] = [:]
    let maximumFailures: Int
    let window: TimeInterval

    /// Creates a throttle (defaults: 10 failures per 5 minutes).
    public init(maximumFailures: Int = 10, window: TimeInterval = 300) {
        self.maximumFailures = maximumFailures
        self.window = window
    }

    /// The failures of `key` within the window (older ones are forgotten).
    private func recentFailures(_ key: String, now: Date) -> Int {
        let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
        failures[key] = recent.isEmpty ? nil : recent
        return recent.count
    }

    /// Admits one attempt for `key`, or throws a rate-limit error. Without recent failures up to
    /// `4 × maximumFailures` attempts may run at once (a fleet of clients behind one address logging in together);
    /// with some, only as many as the failures still left in the budget. Pair with ``settle(_:failed:now:)``.
    func admit(_ key: String, now: Date) throws {
        let recent = recentFailures(key, now: now)
        let running = inFlight[key, default: 0]
        let allowed = recent == 0 ? 4 * maximumFailures : maximumFailures - recent
        guard running < allowed else { throw Self.refusal }
        inFlight[key] = running + 1
    }

    /// Ends an admitted attempt: `failed` true records a failure, false a success (which clears the failures),
    /// `nil` neither (the outcome was not the caller's doing).
    func settle(_ key: String, failed: Bool?, now: Date) {
        let running = inFlight[key, default: 1] - 1
        inFlight[key] = running > 0 ? running : nil
        switch failed {
        case true?: recordFailure(key, now: now)
        case false?: recordSuccess(key)
        case nil: break
        }
    }

    private static var refusal: LeaseholdError {
        LeaseholdError(.rateLimited, "too many failed login attempts; try again later")
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
        try await admit(key, now: now)
        do {
            let result = try await attempt()
            await settle(key, failed: false, now: now)
            return result
        } catch let error as LeaseholdError where error.code == .invalidRequest || error.code == .permissionDenied {
            await settle(key, failed: true, now: now)
            throw error
        } catch {
            await settle(key, failed: nil, now: now)
            throw error
        }
    }

    /// The part of a throttle key that names the client: its address without the port.
    static func client(_ context: OperationContext) -> String {
        CIDRBlock.host(of: context.request.remoteAddress)
    }
}

