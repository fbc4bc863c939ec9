import LeaseholdAuth
import LeaseholdCore

/// A `jwt` role: which tokens may log in through it (audiences, subject, bound claims, times) and what they get.
struct JWTRole: AuthMethodRole {
    var boundAudiences: [String] = []
    var boundSubject = ""
    var boundClaims = BoundClaims()
    var userClaim = "sub"
    var groupsClaim = ""
    var claimMappings: [String: String] = [:]
    var leeway = ClockLeeway()
    var token = TokenSettings()

    static let maximumListLength = 64

    /// Applies a role write over `existing` (Vault merges role writes).
    init(parsing data: RequestData, over existing: JWTRole?) throws {
        self = existing ?? JWTRole()
        token = try TokenSettings(parsing: data, over: existing?.token)
        if let roleType = try data.string("role_type"), !roleType.isEmpty, roleType != "jwt" {
            throw LeaseholdError.invalidRequest("only role_type \"jwt\" is supported")
        }
        if let value = try data.stringList("bound_audiences") { boundAudiences = try Self.bounded(value, "bound_audiences") }
        if let value = try data.string("bound_subject") { boundSubject = value }
        if let value = try data.string("user_claim") { userClaim = value }
        if let value = try data.string("groups_claim") { groupsClaim = value }
        let claimsType = try data.string("bound_claims_type") ?? (existing?.boundClaims.usesGlobs == true ? "glob" : "string")
        guard claimsType == "string" || claimsType == "glob" else {
            throw LeaseholdError.invalidRequest("invalid 'bound_claims_type': \(claimsType.prefix(32))")
        }
        do {
            switch data.value("bound_claims") {
            case .object(let object)?: boundClaims = try BoundClaims(parsing: object, usesGlobs: claimsType == "glob")
            case nil, .null?: boundClaims.usesGlobs = claimsType == "glob"
            default: throw LeaseholdError.invalidRequest("field \"bound_claims\" must be an object")
            }
            try leeway.configure(
                clockSkew: try Self.leeway(data, "clock_skew_leeway"), expiration: try Self.leeway(data, "expiration_leeway"),
                notBefore: try Self.leeway(data, "not_before_leeway"))
        } catch let error as JWTValidationError {
            throw IdentityLogin.invalid(error)
        }
        if let mappings = try data.stringMap("claim_mappings") {
            guard mappings.count <= Self.maximumListLength else { throw LeaseholdError.invalidRequest("too many claim_mappings") }
            var targets: Set<String> = []
            for target in mappings.values {
                guard target != "role" else {
                    throw LeaseholdError.invalidRequest("metadata key \"role\" is reserved and may not be a mapping destination")
                }
                guard targets.insert(target).inserted else {
                    throw LeaseholdError.invalidRequest("multiple keys are mapped to metadata key \"\(target.prefix(64))\"")
                }
            }
            claimMappings = mappings
        }
        guard !userClaim.isEmpty else { throw LeaseholdError.invalidRequest("a user claim must be defined on the role") }
        guard !boundAudiences.isEmpty || !boundSubject.isEmpty || !boundClaims.isEmpty || !token.boundCIDRs.isEmpty else {
            throw LeaseholdError.invalidRequest("must have at least one bound constraint when creating/updating a role")
        }
    }

    private init() {}

    private static func bounded(_ values: [String], _ name: String) throws -> [String] {
        guard values.count <= maximumListLength, values.allSatisfy({ $0.count <= 1024 }) else {
            throw LeaseholdError.invalidRequest("\(name) has too many or too long values")
        }
        return values
    }

    /// A leeway field: `-1` (none), or seconds as a number or Go duration text.
    private static func leeway(_ data: RequestData, _ name: String) throws -> Int64? {
        switch data.value(name) {
        case .number(-1)?, .string("-1")?: -1
        default: try data.ttl(name)?.seconds
        }
    }

    /// The checks a token must pass for this role under `config`.
    func expectations(under config: JWTAuthConfig) -> ClaimExpectations {
        var expectations = ClaimExpectations()
        expectations.issuer = config.expectedIssuer
        expectations.audiences = boundAudiences
        expectations.subject = boundSubject
        expectations.leeway = leeway
        expectations.boundClaims = boundClaims
        return expectations
    }

    /// The fields of a role read.
    var json: [String: JSONValue] {
        var fields = token.json
        fields["role_type"] = "jwt"
        fields["bound_audiences"] = .strings(boundAudiences)
        fields["bound_subject"] = .string(boundSubject)
        fields["bound_claims"] = boundClaims.isEmpty ? .null : .object(boundClaims.json)
        fields["bound_claims_type"] = boundClaims.usesGlobs ? "glob" : "string"
        fields["user_claim"] = .string(userClaim)
        fields["groups_claim"] = .string(groupsClaim)
        fields["claim_mappings"] = claimMappings.isEmpty ? .null : .object(claimMappings.mapValues(JSONValue.string))
        fields["clock_skew_leeway"] = .int(Int(leeway.configuredClockSkew))
        fields["expiration_leeway"] = .int(Int(leeway.configuredExpiration))
        fields["not_before_leeway"] = .int(Int(leeway.configuredNotBefore))
        return fields
    }
}
