/// The leeways, in seconds, applied to a token's times, following Vault's rules:
///
/// * `clockSkew` widens every comparison with `exp`, `nbf` and `iat`;
/// * `expiration`, when the token has no `exp`, makes it expire that long after its `iat` or `nbf`;
/// * `notBefore`, when the token has neither `nbf` nor `iat`, makes it valid from that long before its `exp`.
///
/// Each is configured as `-1` (none), `0` (the default, 60 s) or 1 to ``maximum`` seconds, so no role can widen a
/// window beyond a minute.
public struct ClockLeeway: Sendable, Hashable, Codable {
    /// The default and the largest leeway.
    public static let maximum: Int64 = 60

    /// The configured values (`-1`, `0`, or 1…60), returned on reads.
    public var configuredClockSkew: Int64 = 0
    /// See ``configuredClockSkew``.
    public var configuredExpiration: Int64 = 0
    /// See ``configuredClockSkew``.
    public var configuredNotBefore: Int64 = 0

    /// The defaults.
    public init() {}

    /// Checks and stores configured values; `nil` keeps the current value.
    public mutating func configure(clockSkew: Int64?, expiration: Int64?, notBefore: Int64?) throws(JWTValidationError) {
        for (name, value) in [("clock_skew_leeway", clockSkew), ("expiration_leeway", expiration), ("not_before_leeway", notBefore)] {
            if let value, !(-1...Self.maximum).contains(value) {
                throw .configuration("\(name) must be -1 (none), 0 (default) or at most \(Self.maximum) seconds")
            }
        }
        configuredClockSkew = clockSkew ?? configuredClockSkew
        configuredExpiration = expiration ?? configuredExpiration
        configuredNotBefore = notBefore ?? configuredNotBefore
    }

    static func effective(_ configured: Int64) -> Double {
        switch configured {
        case ..<0: 0
        case 0: Double(maximum)
        default: Double(configured)
        }
    }

    /// Throws unless `claims`' times admit `now` (seconds since 1970). With `requiringTimeClaim`, a token without
    /// any of `exp`, `nbf` and `iat` is refused; without it (Kubernetes legacy tokens) such a token has no window.
    public func check(_ claims: JWTClaimSet, now: Double, requiringTimeClaim: Bool) throws(JWTValidationError) {
        let issuedAt = try claims.numericDate("iat")
        let notBefore = try claims.numericDate("nbf")
        var expiry = try claims.numericDate("exp")
        if issuedAt == nil, notBefore == nil, expiry == nil {
            if requiringTimeClaim { throw .missingTimeClaims }
            return
        }
        let skew = Self.effective(configuredClockSkew)
        if expiry == nil, requiringTimeClaim {
            expiry = max(issuedAt ?? 0, notBefore ?? 0) + Self.effective(configuredExpiration)
        }
        let start = notBefore ?? issuedAt ?? expiry.map { $0 - Self.effective(configuredNotBefore) }
        if let expiry, now > expiry + skew { throw .expired }
        if let start, now + skew < start { throw .notYetValid }
        if let issuedAt, now + skew < issuedAt { throw .notYetValid }
    }
}
