import LeaseholdCore

/// The request-parameter constraints of a policy rule: `allowed_parameters`, `denied_parameters` and
/// `required_parameters`.
///
/// Keys are lowercase. A key mapped to an empty list allows (or denies) any value; the key `*` stands for every
/// parameter. String values may use a leading and/or trailing `*` glob.
public struct ParameterConstraints: Sendable, Hashable {
    /// Parameters that may be sent, with their permitted values.
    public var allowed: [String: [JSONValue]]
    /// Parameters that may not be sent, with their forbidden values.
    public var denied: [String: [JSONValue]]
    /// Parameters that must be sent.
    public var required: [String]

    /// Creates constraints; the defaults constrain nothing.
    public init(allowed: [String: [JSONValue]] = [:], denied: [String: [JSONValue]] = [:], required: [String] = []) {
        self.allowed = allowed
        self.denied = denied
        self.required = required
    }

    /// Whether the rule constrains parameters at all.
    public var isEmpty: Bool { allowed.isEmpty && denied.isEmpty && required.isEmpty }

    /// Whether a request with these parameters satisfies the constraints, with Vault's semantics: required parameters
    /// must be present; a request with no parameters then passes; `denied["*"]` refuses any parameter; a denied value
    /// refuses; and when `allowed` is set, each parameter must be allowed (by name or `*`) with an allowed value.
    /// An array value passes only if each of its elements does.
    public func permits(_ parameters: [String: JSONValue]) -> Bool {
        let lowercased = Dictionary(
            parameters.map { ($0.key.lowercased(), $0.value) },
            uniquingKeysWith: { first, _ in first }
        )
        guard required.allSatisfy({ lowercased[$0] != nil }) else { return false }
        if lowercased.isEmpty { return true }
        if denied["*"] != nil { return false }
        for (name, value) in lowercased {
            if let forbidden = denied[name], Self.value(value, isIn: forbidden) { return false }
        }
        if allowed.isEmpty { return true }
        let allowsAny = allowed["*"] != nil
        if allowsAny, allowed.count == 1 { return true }
        for (name, value) in lowercased {
            guard let permitted = allowed[name] else {
                if allowsAny { continue }
                return false
            }
            if !Self.value(value, isIn: permitted) { return false }
        }
        return true
    }

    /// Merges the constraints of two policies' rules for the same pattern, as Vault does: an empty value list for a
    /// key wins (any value), otherwise the lists are concatenated; required parameters are unioned.
    func merged(with other: ParameterConstraints) -> ParameterConstraints {
        ParameterConstraints(
            allowed: Self.merge(allowed, other.allowed),
            denied: Self.merge(denied, other.denied),
            required: Array(Set(required).union(other.required)).sorted()
        )
    }

    private static func merge(_ first: [String: [JSONValue]], _ second: [String: [JSONValue]]) -> [String: [JSONValue]]
    {
        first.merging(second) { lhs, rhs in lhs.isEmpty || rhs.isEmpty ? [] : lhs + rhs }
    }

    /// Whether `value` is in `list`; an empty list contains everything.
    private static func value(_ value: JSONValue, isIn list: [JSONValue]) -> Bool {
        if list.isEmpty { return true }
        if case .array(let elements) = value {
            return elements.allSatisfy { element in list.contains { matches(element, $0) } }
        }
        return list.contains { matches(value, $0) }
    }

    private static func matches(_ value: JSONValue, _ item: JSONValue) -> Bool {
        if case .string(let pattern) = item, case .string(let text) = value {
            return globMatches(pattern, text)
        }
        return value == item
    }

    /// Vault's `GlobbedStringsMatch`: `*x*` contains, `*x` suffix, `x*` prefix, otherwise equality.
    private static func globMatches(_ pattern: String, _ text: String) -> Bool {
        guard pattern.count >= 2 else { return pattern == text }
        switch (pattern.hasPrefix("*"), pattern.hasSuffix("*")) {
        case (true, true): return text.contains(pattern.dropFirst().dropLast())
        case (true, false): return text.hasSuffix(pattern.dropFirst())
        case (false, true): return text.hasPrefix(pattern.dropLast())
        case (false, false): return text == pattern
        }
    }
}
