import LeaseholdCore
import LeaseholdHCL

/// Turns policy text (HCL or JSON) into path rules, with Vault's validation.
enum PolicyDecoder {
    private static let topLevelKeys: Set<String> = ["name", "path"]
    private static let ruleKeys: Set<String> = [
        "comment", "capabilities", "policy", "allowed_parameters", "denied_parameters", "required_parameters",
        "min_wrapping_ttl", "max_wrapping_ttl",
    ]

    static func decodeRules(from text: String) throws(PolicyDecodingError) -> [PathRule] {
        let document: HCLObject
        let blocks: [HCLBlock]
        do {
            document = HCL.looksLikeJSON(text) ? try HCL.parse(json: text) : try HCL.parse(text)
            blocks = try document.blocks(named: "path", labelCount: 1)
        } catch let error as HCLError {
            throw PolicyDecodingError(error.description)
        } catch {
            throw PolicyDecodingError("unreadable policy")
        }
        if let unknown = document.keys.first(where: { !topLevelKeys.contains($0) }) {
            throw PolicyDecodingError("invalid key \(HCLError.excerpt(unknown))")
        }
        var seen = Set<String>()
        var rules: [PathRule] = []
        for block in blocks {
            let written = block.labels[0]
            let context = "path \(HCLError.excerpt(written, limit: 64))"
            let rule = try decodeRule(pattern: written, body: block.body, context: context)
            guard seen.insert(rule.pattern.text).inserted else {
                throw PolicyDecodingError("\(context): duplicate path")
            }
            rules.append(rule)
        }
        return rules
    }

    private static func decodeRule(
        pattern written: String,
        body: HCLObject,
        context: String
    )
        throws(PolicyDecodingError) -> PathRule
    {
        func fail(_ message: String) -> PolicyDecodingError { PolicyDecodingError("\(context): \(message)") }
        for key in body.keys {
            guard ruleKeys.contains(key) else { throw fail("invalid key \(HCLError.excerpt(key))") }
            guard body.values(for: key).count == 1 else { throw fail("duplicate key \(HCLError.excerpt(key))") }
        }
        let pattern: PathPattern
        do {
            pattern = try PathPattern(written)
        } catch {
            throw fail(error.message)
        }
        var capabilities = Set<Capability>()
        for name in try strings(body["capabilities"], key: "capabilities", fail: fail) {
            guard let capability = Capability(rawValue: name) else {
                throw fail("invalid capability \(HCLError.excerpt(name))")
            }
            capabilities.insert(capability)
        }
        if let policy = body["policy"] {
            guard let shorthand = policy.stringValue.flatMap(Capability.legacyShorthand) else {
                throw fail("invalid policy \(HCLError.excerpt(policy.stringValue ?? policy.kindName))")
            }
            capabilities.formUnion(shorthand)
        }
        let parameters = ParameterConstraints(
            allowed: try parameterMap(body["allowed_parameters"], key: "allowed_parameters", fail: fail),
            denied: try parameterMap(body["denied_parameters"], key: "denied_parameters", fail: fail),
            required: try strings(body["required_parameters"], key: "required_parameters", fail: fail)
        )
        let minimum = try ttl(body["min_wrapping_ttl"], key: "min_wrapping_ttl", fail: fail)
        let maximum = try ttl(body["max_wrapping_ttl"], key: "max_wrapping_ttl", fail: fail)
        if let minimum, let maximum, maximum < minimum {
            throw fail("max_wrapping_ttl cannot be less than min_wrapping_ttl")
        }
        return PathRule(
            pattern: pattern,
            capabilities: capabilities,
            parameters: parameters,
            minimumWrappingTTL: minimum,
            maximumWrappingTTL: maximum
        )
    }

    private static func strings(
        _ value: HCLValue?,
        key: String,
        fail: (String) -> PolicyDecodingError
    ) throws(PolicyDecodingError) -> [String] {
        guard let value else { return [] }
        guard let list = value.listValue else { throw fail("\(key) must be a list of strings") }
        var result: [String] = []
        for element in list {
            guard let string = element.stringValue else { throw fail("\(key) must be a list of strings") }
            result.append(string)
        }
        return result
    }

    private static func parameterMap(
        _ value: HCLValue?,
        key: String,
        fail: (String) -> PolicyDecodingError
    ) throws(PolicyDecodingError) -> [String: [JSONValue]] {
        guard let value else { return [:] }
        guard let object = value.objectValue else { throw fail("\(key) must be an object of lists") }
        var result: [String: [JSONValue]] = [:]
        for entry in object.entries {
            let name = entry.key.lowercased()
            guard result[name] == nil else { throw fail("\(key): duplicate parameter \(HCLError.excerpt(name))") }
            guard let list = entry.value.listValue else {
                throw fail("\(key): \(HCLError.excerpt(name)) must be a list")
            }
            result[name] = list.map(jsonValue)
        }
        return result
    }

    private static func jsonValue(_ value: HCLValue) -> JSONValue {
        switch value {
        case .string(let string): .string(string)
        case .number(let number): .number(number)
        case .bool(let bool): .bool(bool)
        case .list(let elements): .array(elements.map(jsonValue))
        case .object(let object):
            .object(
                Dictionary(
                    object.entries.map { ($0.key, jsonValue($0.value)) },
                    uniquingKeysWith: { first, _ in first }
                )
            )
        }
    }

    private static func ttl(
        _ value: HCLValue?,
        key: String,
        fail: (String) -> PolicyDecodingError
    ) throws(PolicyDecodingError) -> TTL? {
        guard let value else { return nil }
        let text: String
        switch value {
        case .string(let string): text = string
        case .number(let number):
            guard let ttl = TTL(wholeSeconds: number) else { throw fail("\(key) must be a duration") }
            return ttl
        default: throw fail("\(key) must be a duration")
        }
        do {
            return try TTL.parse(text)
        } catch {
            throw fail("invalid \(key)")
        }
    }
}
