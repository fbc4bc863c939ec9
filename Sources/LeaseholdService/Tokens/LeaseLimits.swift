import Foundation
import LeaseholdCore

/// The system-wide TTL defaults and caps (`default_lease_ttl`, `max_lease_ttl`), and the TTL arithmetic that
/// uses them. Zero is never a sentinel for "forever" except for root tokens created without a TTL.
public struct LeaseLimits: Sendable, Hashable {
    /// The TTL used when a request asks for none.
    public var defaultTTL: TTL
    /// The longest any lease or token may live.
    public var maxTTL: TTL

    /// Creates limits; `defaultTTL` is clamped to `maxTTL`.
    public init(defaultTTL: TTL = TTL(seconds: 768 * 3600), maxTTL: TTL = TTL(seconds: 768 * 3600)) {
        self.maxTTL = maxTTL
        self.defaultTTL = min(defaultTTL, maxTTL)
    }

    /// The TTL of a new token.
    public func initialTTL(requested: TTL, explicitMax: TTL, period: TTL, isRoot: Bool) -> TTL {
        if isRoot && requested.isZero && period.isZero && explicitMax.isZero { return .zero }
        var ttl = period.isZero ? (requested.isZero ? defaultTTL : requested) : period
        if !explicitMax.isZero { ttl = min(ttl, explicitMax) }
        if period.isZero { ttl = min(ttl, maxTTL) }
        return ttl
    }

    /// The outcome of a renewal: the granted TTL and any warnings.
    public struct Renewal: Sendable {
        /// The new TTL from now.
        public var ttl: TTL
        /// Warnings for the caller (a capped TTL).
        public var warnings: [String]
    }

    /// The TTL a renewal grants at `now`, never beyond the token's maximum measured from its creation.
    public func renewal(of entry: TokenEntry, increment: TTL, now: Date) -> Renewal {
        let elapsed = max(0, Int64(now.timeIntervalSince(entry.creationTime).rounded()))
        var wanted = entry.period > 0 ? entry.period : (increment.isZero ? entry.creationTTL : increment.seconds)
        if wanted == 0 { wanted = defaultTTL.seconds }
        var maxLife = entry.period > 0 ? Int64.max : maxTTL.seconds
        if entry.explicitMaxTTL > 0 { maxLife = min(maxLife, entry.explicitMaxTTL) }
        let remainingMax = maxLife == Int64.max ? Int64.max : max(0, maxLife - elapsed)
        guard wanted > remainingMax else { return Renewal(ttl: TTL(seconds: wanted), warnings: []) }
        let capped = TTL(seconds: remainingMax)
        let warning =
            "TTL of \"\(TTL(seconds: wanted))\" exceeded the effective max_ttl of \"\(capped)\"; TTL value is capped accordingly"
        return Renewal(ttl: capped, warnings: [warning])
    }
}
