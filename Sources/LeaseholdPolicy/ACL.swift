import LeaseholdCore

/// The access-control list of a token: the rules of all its policies merged, answering what it may do on a path.
///
/// Evaluation follows Vault: an exact pattern for the path wins outright (for ``LogicalOperation/list`` the path
/// without its trailing `/` is tried too); otherwise the most specific matching prefix or `+` pattern wins by the
/// order of ``MatchSpecificity``. Rules for the same pattern from several policies are merged (capabilities unioned;
/// a `deny` in any of them denies). A winning `deny` grants nothing. No matching rule grants nothing.
public struct ACL: Sendable {
    private let isRoot: Bool
    private let exactRules: [String: ACLPermissions]
    private let nonExactRules: [(pattern: PathPattern, permissions: ACLPermissions)]
    /// Whether any rule sets `min_wrapping_ttl` or `max_wrapping_ttl`: without one, requests need no wrapping check.
    public let hasWrappingBounds: Bool

    /// Builds the ACL of a token holding `policies`.
    public init(policies: [ACLPolicy]) {
        var merged: [PathPattern: ACLPermissions] = [:]
        var order: [PathPattern] = []
        for rule in policies.flatMap(\.rules) {
            if merged[rule.pattern] == nil {
                merged[rule.pattern] = ACLPermissions(rule)
                order.append(rule.pattern)
            } else {
                merged[rule.pattern]?.merge(rule)
            }
        }
        var exact: [String: ACLPermissions] = [:]
        var nonExact: [(pattern: PathPattern, permissions: ACLPermissions)] = []
        for pattern in order {
            guard let permissions = merged[pattern] else { continue }
            if pattern.kind == .exact {
                exact[pattern.text] = permissions
            } else {
                nonExact.append((pattern, permissions))
            }
        }
        self.init(isRoot: false, exactRules: exact, nonExactRules: nonExact)
    }

    private init(
        isRoot: Bool,
        exactRules: [String: ACLPermissions],
        nonExactRules: [(pattern: PathPattern, permissions: ACLPermissions)]
    ) {
        self.isRoot = isRoot
        self.exactRules = exactRules
        self.nonExactRules = nonExactRules
        hasWrappingBounds = (Array(exactRules.values) + nonExactRules.map(\.permissions)).contains {
            $0.minimumWrappingTTL != nil || $0.maximumWrappingTTL != nil
        }
    }

    /// The ACL of the `root` policy: everything is allowed on every path, including `sudo`.
    public static let root = ACL(isRoot: true, exactRules: [:], nonExactRules: [])

    /// Whether this is the root ACL.
    public var isRootACL: Bool { isRoot }

    /// The merged permissions of the rule that governs `path`, or `nil` when no rule matches (or for root).
    ///
    /// Complexity: O(*n*) in the number of non-exact patterns.
    public func permissions(for path: String) -> ACLPermissions? {
        if let exact = exactRules[path] { return exact }
        return
            nonExactRules
            .compactMap { rule in rule.pattern.specificity(matching: path).map { ($0, rule.permissions) } }
            .max { $0.0 < $1.0 }?.1
    }

    /// The capabilities granted on `path`: empty when nothing matches or the winning rule denies; every capability
    /// except `deny` for root.
    public func capabilities(for path: String) -> Set<Capability> {
        if isRoot { return Set(Capability.allCases).subtracting([.deny]) }
        guard let capabilities = permissions(for: path)?.capabilities, !capabilities.contains(.deny) else { return [] }
        return capabilities
    }

    /// The capability names `sys/capabilities` reports for `path`: `["root"]` for root, `["deny"]` when nothing is
    /// granted, otherwise the granted names sorted.
    public func capabilityNames(for path: String) -> [String] {
        if isRoot { return ["root"] }
        let granted = capabilities(for: path)
        return granted.isEmpty ? [Capability.deny.rawValue] : granted.sorted().map(\.rawValue)
    }

    /// Whether the operation is allowed on `path` with the request `parameters`.
    ///
    /// For read, create, update and patch, the winning rule's parameter constraints must also be met
    /// (see ``ParameterConstraints/permits(_:)``). Help is always allowed.
    public func allows(_ operation: LogicalOperation, path: String, parameters: [String: JSONValue] = [:]) -> Bool {
        if isRoot { return true }
        guard let required = operation.requiredCapability else { return true }
        var governing = exactRules[path]
        if governing == nil, operation == .list, path.hasSuffix("/") {
            governing = exactRules[String(path.dropLast())]
        }
        guard let permissions = governing ?? permissions(for: path),
            !permissions.capabilities.contains(.deny), permissions.capabilities.contains(required)
        else { return false }
        return !operation.checksParameters || permissions.parameters.permits(parameters)
    }

    /// Whether any rule grants something (other than a deny) on `prefix` or below it, as Vault's UI mount listing
    /// asks: a pattern written under the prefix, or one that matches the prefix itself. Root has access everywhere.
    /// Complexity: O(*n*) in the number of rules.
    public func grantsAnything(under prefix: String) -> Bool {
        if isRoot { return true }
        if !capabilities(for: prefix).isEmpty { return true }
        let granting = { (permissions: ACLPermissions) in
            !permissions.capabilities.contains(.deny) && !permissions.capabilities.isEmpty
        }
        return exactRules.contains { $0.key.hasPrefix(prefix) && granting($0.value) }
            || nonExactRules.contains { $0.pattern.text.hasPrefix(prefix) && granting($0.permissions) }
    }

    /// Whether the token may use root-protected (`sudo`) endpoints at `path`.
    public func hasSudo(path: String) -> Bool {
        capabilities(for: path).contains(.sudo)
    }
}
