import LeaseholdCore

/// What the winning rule(s) for a path grant, after merging every policy's rules for the same pattern.
public struct ACLPermissions: Sendable, Hashable {
    /// The merged capabilities; `[.deny]` if any merged rule denies.
    public var capabilities: Set<Capability>
    /// The merged parameter constraints.
    public var parameters: ParameterConstraints
    /// The merged minimum wrapping TTL (the lowest one set).
    public var minimumWrappingTTL: TTL?
    /// The merged maximum wrapping TTL (the highest one set).
    public var maximumWrappingTTL: TTL?

    /// The permissions of a single rule.
    init(_ rule: PathRule) {
        capabilities = rule.capabilities
        parameters = rule.parameters
        minimumWrappingTTL = rule.minimumWrappingTTL
        maximumWrappingTTL = rule.maximumWrappingTTL
    }

    /// Adds another policy's rule for the same pattern with Vault's merge: a deny already present stays and ignores
    /// the new rule; a new deny replaces everything; otherwise capabilities are unioned, the minimum wrapping TTL is
    /// the lowest, the maximum the highest, and parameter constraints are merged.
    mutating func merge(_ rule: PathRule) {
        if capabilities.contains(.deny) { return }
        if rule.isDeny {
            self = ACLPermissions(rule)
            return
        }
        capabilities.formUnion(rule.capabilities)
        parameters = parameters.merged(with: rule.parameters)
        minimumWrappingTTL = [minimumWrappingTTL, rule.minimumWrappingTTL].compactMap { $0 }.min()
        maximumWrappingTTL = [maximumWrappingTTL, rule.maximumWrappingTTL].compactMap { $0 }.max()
    }
}
