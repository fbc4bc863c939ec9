import LeaseholdCore

/// One `path "…" { … }` block of a policy.
public struct PathRule: Sendable, Hashable {
    /// The path pattern.
    public var pattern: PathPattern
    /// The granted capabilities; `[.deny]` when the rule denies (deny discards every other capability).
    public var capabilities: Set<Capability>
    /// Constraints on request parameters.
    public var parameters: ParameterConstraints
    /// The shortest response-wrapping TTL a request must ask for, if any.
    public var minimumWrappingTTL: TTL?
    /// The longest response-wrapping TTL a request may ask for, if any.
    public var maximumWrappingTTL: TTL?

    /// Creates a rule. A capability set containing ``Capability/deny`` is reduced to `[.deny]`.
    public init(
        pattern: PathPattern,
        capabilities: Set<Capability>,
        parameters: ParameterConstraints = ParameterConstraints(),
        minimumWrappingTTL: TTL? = nil,
        maximumWrappingTTL: TTL? = nil
    ) {
        self.pattern = pattern
        self.capabilities = capabilities.contains(.deny) ? [.deny] : capabilities
        self.parameters = parameters
        self.minimumWrappingTTL = minimumWrappingTTL
        self.maximumWrappingTTL = maximumWrappingTTL
    }

    /// Whether the rule denies everything.
    public var isDeny: Bool { capabilities.contains(.deny) }
}
