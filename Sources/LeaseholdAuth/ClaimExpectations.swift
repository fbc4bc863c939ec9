/// What a verified token's registered claims must say: issuer, audience, subject, times and bound claims.
public struct ClaimExpectations: Sendable {
    /// The required `iss` (empty: not checked).
    public var issuer: String = ""
    /// Accepted `aud` values (empty: no audience bound).
    public var audiences: [String] = []
    /// Whether a token with an `aud` claim is refused when no audience is bound (Vault ≥ 1.17, CVE-2024-5798).
    /// Kubernetes roles leave this off: their `audience` is optional.
    public var refusesUnboundAudience: Bool = true
    /// The required `sub` (empty: not checked).
    public var subject: String = ""
    /// Time leeways.
    public var leeway = ClockLeeway()
    /// Whether a token needs at least one of `exp`, `nbf` and `iat`.
    public var requiresTimeClaim: Bool = true
    /// Claims that must match.
    public var boundClaims = BoundClaims()

    /// Expectations that check nothing but times; set the fields that apply.
    public init() {}

    /// Throws unless `claims` satisfy every expectation at `now` (seconds since 1970).
    public func check(_ claims: JWTClaimSet, now: Double) throws(JWTValidationError) {
        try leeway.check(claims, now: now, requiringTimeClaim: requiresTimeClaim)
        if !issuer.isEmpty, claims.string("iss") != issuer { throw .issuerMismatch }
        if !subject.isEmpty, claims.string("sub") != subject { throw .subjectMismatch }
        let presented = try claims.audiences()
        if audiences.isEmpty {
            if refusesUnboundAudience, let presented, !presented.isEmpty { throw .audienceWithoutBinding }
        } else {
            guard let presented, presented.contains(where: audiences.contains) else { throw .audienceMismatch }
        }
        try boundClaims.check(claims)
    }
}
