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
    ///
    /// Handlers read parameters by their exact (lowercase) names and split comma-separated strings into lists, so
    /// the checks see what they will: required names must be sent exactly; names that differ only in case refuse
    /// the request (one of them would go unchecked); a list or a comma-separated string is denied when any element
    /// is, and allowed only when every element is (or the whole string is).
    public func permits(_ parameters: [String: JSONValue]) -> Bool {
        guard required.allSatisfy({ parameters[$0] != nil }) else { return false }
        var lowercased: [String: JSONValue] = [:]
        for (name, value) in parameters {
            guard lowercased.updateValue(value, forKey: name.lowercased()) == nil else { return false }
        }
        if lowercased.isEmpty { return true }
        if denied["*"] != nil { return false }
        for (name, value) in lowercased {
            if let forbidden = denied[name], Self.anyElement(of: value, isIn: forbidden) { return false }
        }
        if allowed.isEmpty { return true }
        let allowsAny = allowed["*"] != nil
        if allowsAny, allowed.count == 1 { return true }
        for (name, value) in lowercased {
            guard let permitted = allowed[name] else {
                if allowsAny { continue }
                return false
            }
            if !Self.everyElement(of: value, isIn: permitted) { return false }
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

    /// Whether `value`, an element of it, or a comma-separated part of a string in it is in `list` under any reading
    /// a handler may give it (``readings(of:)``), strings compared without regard to case (an empty list contains
    /// everything).
    private static func anyElement(of value: JSONValue, isIn list: [JSONValue]) -> Bool {
        if list.isEmpty { return true }
        switch value {
        case .array(let elements): return elements.contains { anyElement(of: $0, isIn: list) }
        case .string(let text):
            let candidates = [value] + commaParts(of: text).map(JSONValue.string)
            return candidates.contains { candidate in
                readings(of: candidate).contains { reading in list.contains { matches(reading, $0, ignoringCase: true) } }
            }
        default: return readings(of: value).contains { reading in list.contains { matches(reading, $0, ignoringCase: true) } }
        }
    }

    /// Whether every element of `value` is in `list`: a string exactly as a whole, or each of its comma-separated
    /// parts (a glob never matches a whole list spelled as one string; an empty list contains everything).
    private static func everyElement(of value: JSONValue, isIn list: [JSONValue]) -> Bool {
        if list.isEmpty { return true }
        switch value {
        case .array(let elements): return elements.allSatisfy { everyElement(of: $0, isIn: list) }
        case .string(let text):
            let parts = commaParts(of: text)
            if parts.isEmpty { return list.contains { matches(value, $0, ignoringCase: false) } }
            return list.contains(.string(text)) || parts.allSatisfy { part in list.contains { matches(.string(part), $0, ignoringCase: false) } }
        default: return list.contains { matches(value, $0, ignoringCase: false) }
        }
    }

    /// The values a handler may read `value` as: a string also trimmed and lowercased, and as the boolean or number
    /// it spells; a boolean or number also as text and as the other scalar type (handlers coerce, so `"1"`, `1`
    /// and `true` all turn a flag on).
    private static func readings(of value: JSONValue) -> [JSONValue] {
        switch value {
        case .string(let text):
            let normalized = text.trimmingWhitespace().lowercased()
            var forms: [JSONValue] = [value, .string(normalized)]
            if let flag = JSONValue.boolean(spelledBy: normalized) { forms.append(.bool(flag)) }
            if let number = Double(normalized), number.isFinite { forms.append(.number(number)) }
            return forms
        case .bool(let flag): return [value, .string(String(flag)), .number(flag ? 1 : 0)]
        case .number(let number): return [value, .string(JSONValue.text(of: number)), .bool(number != 0)]
        default: return [value]
        }
    }

    /// The trimmed comma-separated parts of `text`, as handlers split list parameters sent as strings (none when
    /// it has no comma).
    private static func commaParts(of text: String) -> [String] {
        text.contains(",") ? text.split(separator: ",").map { String($0).trimmingWhitespace() } : []
    }

    private static func matches(_ value: JSONValue, _ item: JSONValue, ignoringCase: Bool) -> Bool {
        if case .string(let pattern) = item, case .string(let text) = value {
            return ignoringCase ? globMatches(pattern.lowercased(), text.lowercased()) : globMatches(pattern, text)
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
