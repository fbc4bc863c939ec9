import LeaseholdCore

/// The fields of a request with Vault's weak typing: numbers may arrive as strings, lists as comma-separated
/// strings, durations as seconds or Go duration text, booleans as `"true"`.
public struct RequestData: Sendable {
    /// The raw fields.
    public var fields: [String: JSONValue]

    /// Wraps fields.
    public init(_ fields: [String: JSONValue] = [:]) { self.fields = fields }

    /// Whether the field is present and not null.
    public func contains(_ name: String) -> Bool {
        if let value = fields[name], value != .null { return true }
        return false
    }

    /// A string field; numbers and booleans are rendered as text.
    public func string(_ name: String) throws -> String? {
        switch fields[name] {
        case nil, .null: return nil
        case .string(let value): return value
        case .number(let value): return JSONValue.text(of: value)
        case .bool(let value): return String(value)
        default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be a string")
        }
    }

    /// A boolean field (`true`, `"true"`, `1`, `"1"`).
    public func bool(_ name: String) throws -> Bool? {
        switch fields[name] {
        case nil, .null: return nil
        case .bool(let value): return value
        case .number(let value): return value != 0
        case .string(let value):
            switch value.lowercased() {
            case "true", "1", "t", "yes": return true
            case "false", "0", "f", "no", "": return false
            default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be a boolean")
            }
        default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be a boolean")
        }
    }

    /// An integer field.
    public func int(_ name: String) throws -> Int? {
        switch fields[name] {
        case nil, .null: return nil
        case .number(let value):
            guard value.rounded() == value, abs(value) < 1e15 else {
                throw LeaseholdError.invalidRequest("field \"\(name)\" must be an integer")
            }
            return Int(value)
        case .string(let value):
            if value.isEmpty { return nil }
            guard let parsed = Int(value) else { throw LeaseholdError.invalidRequest("field \"\(name)\" must be an integer") }
            return parsed
        default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be an integer")
        }
    }

    /// A duration field: seconds as a number or string, or Go duration text.
    public func ttl(_ name: String) throws -> TTL? {
        switch fields[name] {
        case nil, .null: return nil
        case .number(let value):
            guard value >= 0, value.rounded() == value, value < 1e12 else {
                throw LeaseholdError.invalidRequest("field \"\(name)\" must be a non-negative duration")
            }
            return TTL(seconds: Int64(value))
        case .string(let value):
            do { return try TTL.parse(value) } catch {
                throw LeaseholdError.invalidRequest("field \"\(name)\": invalid duration")
            }
        default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be a duration")
        }
    }

    /// A list of strings: a JSON array, or a comma-separated string. Entries are trimmed; empty ones dropped.
    public func stringList(_ name: String) throws -> [String]? {
        switch fields[name] {
        case nil, .null: return nil
        case .string(let value):
            return value.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        case .array(let values):
            return try values.compactMap { element -> String? in
                switch element {
                case .string(let value):
                    let trimmed = value.trimmingWhitespace()
                    return trimmed.isEmpty ? nil : trimmed
                case .number(let value): return JSONValue.text(of: value)
                default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be a list of strings")
                }
            }
        default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be a list of strings")
        }
    }

    /// A map of strings (for `meta`): a JSON object whose values are strings.
    public func stringMap(_ name: String) throws -> [String: String]? {
        switch fields[name] {
        case nil, .null: return nil
        case .object(let members):
            return try members.mapValues { value in
                guard case .string(let text) = value else {
                    throw LeaseholdError.invalidRequest("field \"\(name)\" must map strings to strings")
                }
                return text
            }
        default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be an object")
        }
    }

    /// A field that also has deprecated names (Vault's `UpgradeValue`): its value under `name` or any of
    /// `aliases`, read with `read`. Two names given different values are refused, so no value is silently dropped.
    public func upgraded<Value: Equatable>(
        _ name: String, aliases: String..., read: (String) throws -> Value?
    ) throws -> Value? {
        var found: (name: String, value: Value)?
        for key in [name] + aliases {
            guard let value = try read(key) else { continue }
            if let found {
                guard found.value == value else {
                    throw LeaseholdError.invalidRequest("\"\(found.name)\" and \"\(key)\" cannot both be set to different values")
                }
            } else {
                found = (key, value)
            }
        }
        return found?.value
    }

    /// A required, non-empty string field.
    public func requiredString(_ name: String) throws -> String {
        guard let value = try string(name), !value.isEmpty else {
            throw LeaseholdError.invalidRequest("missing required field \"\(name)\"")
        }
        return value
    }
}

import Foundation
