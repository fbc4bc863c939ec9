import LeaseholdCore

/// A role's `bound_claims`: every named claim must be present and one of its values (a list claim matches when
/// any element does) must equal — or, with `bound_claims_type` `glob`, match — one of the bound values.
public struct BoundClaims: Sendable, Codable, Hashable {
    /// Claim name (or JSON pointer) → accepted values.
    public var values: [String: [String]]
    /// Whether the values are globs (`*` wildcards) rather than exact strings.
    public var usesGlobs: Bool

    static let maximumClaims = 64
    static let maximumValuesPerClaim = 64
    static let maximumValueLength = 1024

    /// No bound claims.
    public init() {
        values = [:]
        usesGlobs = false
    }

    /// Parses the `bound_claims` object: each value is a string or a list of strings (numbers and booleans are
    /// taken as their text).
    public init(parsing object: [String: JSONValue], usesGlobs: Bool) throws(JWTValidationError) {
        guard object.count <= Self.maximumClaims else { throw .configuration("bound_claims has too many claims") }
        var values: [String: [String]] = [:]
        for (name, raw) in object {
            guard !name.isEmpty, name.count <= Self.maximumValueLength else { throw .configuration("bound_claims has an invalid claim name") }
            let list: [JSONValue]
            if case .array(let items) = raw { list = items } else { list = [raw] }
            let texts = list.compactMap(JWTClaimSet.text)
            guard texts.count == list.count, !texts.isEmpty, texts.count <= Self.maximumValuesPerClaim,
                texts.allSatisfy({ $0.count <= Self.maximumValueLength })
            else {
                throw .configuration("bound_claims values must be strings or lists of strings")
            }
            values[name] = texts
        }
        self.values = values
        self.usesGlobs = usesGlobs
    }

    /// Whether there are no bound claims.
    public var isEmpty: Bool { values.isEmpty }

    /// The object form, for role reads.
    public var json: [String: JSONValue] { values.mapValues { .strings($0) } }

    /// Throws unless every bound claim is satisfied by `claims`.
    public func check(_ claims: JWTClaimSet) throws(JWTValidationError) {
        for (name, accepted) in values {
            let actual = claims.textValues(at: name)
            let satisfied = actual.contains { value in
                usesGlobs ? WildcardPattern.anyMatches(accepted, value) : accepted.contains(value)
            }
            guard satisfied else { throw .boundClaimMismatch }
        }
    }
}
