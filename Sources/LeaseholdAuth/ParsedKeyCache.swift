import LeaseholdCore

/// Configured PEM keys, parsed once: logins verify against the same few keys thousands of times, and parsing an
/// RSA key on each of them would be wasted work. Bounded; an unparsable PEM is simply absent.
public final class ParsedKeyCache: Sendable {
    /// The process-wide cache.
    public static let shared = ParsedKeyCache()

    private let parsed = BoundedCache<String, VerificationKey>(capacity: 1024)

    /// Creates an empty cache.
    public init() {}

    /// The keys of `pems` that parse, in order.
    public func keys(for pems: [String]) -> [VerificationKey] {
        pems.compactMap { pem in parsed.value(for: pem) { try? VerificationKey(pem: pem) } }
    }

    /// How many parsed keys are held.
    public var count: Int { parsed.count }
}

extension VerificationKey {
    /// The claims of `token` verified by the first of `keys` that is a candidate for it and whose signature checks.
    /// Throws `unknownKey` when no key is a candidate, `badSignature` when none verifies.
    public static func claims(of token: CompactJWT, verifiedByOneOf keys: [VerificationKey]) async throws(JWTValidationError) -> JWTClaimSet {
        let candidates = keys.filter { $0.isCandidate(for: token) }
        guard !candidates.isEmpty else { throw .unknownKey }
        for key in candidates {
            if let claims = try? await key.verify(token) { return claims }
        }
        throw .badSignature
    }
}
