import LeaseholdCore

/// A token role (`auth/token/roles/:name`): constraints and defaults for tokens created through it.
public struct TokenRole: Sendable, Codable, Hashable {
    /// The role name.
    public var name: String
    /// Policies the caller may request; empty means any of the caller's own.
    public var allowedPolicies: [String]
    /// Policies that may never be requested.
    public var disallowedPolicies: [String]
    /// Whether tokens are orphans.
    public var orphan: Bool
    /// Whether tokens are renewable.
    public var renewable: Bool
    /// Period for periodic tokens (seconds; 0 = not periodic).
    public var tokenPeriod: Int64
    /// Hard cap on token life (seconds; 0 = none).
    public var tokenExplicitMaxTTL: Int64
    /// Default TTL (seconds; 0 = the mount default).
    public var tokenTTL: Int64
    /// Use limit (0 = unlimited).
    public var tokenNumUses: Int
    /// Whether to omit the default policy.
    public var tokenNoDefaultPolicy: Bool
    /// A suffix added to the token's path.
    public var pathSuffix: String

    /// The `data` of a role read.
    public var json: [String: JSONValue] {
        [
            "name": .string(name), "allowed_policies": .strings(allowedPolicies),
            "disallowed_policies": .strings(disallowedPolicies), "orphan": .bool(orphan),
            "renewable": .bool(renewable), "token_period": .int(Int(tokenPeriod)),
            "token_explicit_max_ttl": .int(Int(tokenExplicitMaxTTL)), "token_ttl": .int(Int(tokenTTL)),
            "token_num_uses": .int(tokenNumUses), "token_no_default_policy": .bool(tokenNoDefaultPolicy),
            "path_suffix": .string(pathSuffix), "token_type": "service",
            "explicit_max_ttl": .int(Int(tokenExplicitMaxTTL)), "period": .int(Int(tokenPeriod)),
        ]
    }
}
