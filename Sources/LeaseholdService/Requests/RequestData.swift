import LeaseholdCore
import Synchronization

/// The fields of a request with Vault's weak typing: numbers may arrive as strings, lists as comma-separated
/// strings, durations as seconds or Go duration text, booleans as `"true"`.
///
/// Every field a handler reads is recorded, so that a write can report the fields it ignored
/// (``ignoredFields``): a mistyped restriction (`token_bound_cidr`) is said out loud rather than silently dropped.
public struct RequestData: Sendable {
    private let storage: [String: JSONValue]
    private let reads: FieldReads
    /// The path of this object's fields among the request's (`config.` for the `config` object), "" at the top.
    private let prefix: String

    /// Wraps fields.
    public init(_ fields: [String: JSONValue] = [:]) {
        storage = fields
        reads = FieldReads()
        prefix = ""
    }

    private init(_ fields: [String: JSONValue], reads: FieldReads, prefix: String) {
        storage = fields
        self.reads = reads
        self.prefix = prefix
    }

    /// The object field `name` as fields of its own, whose reads count for this request (a typo inside it is
    /// reported as `name.field`); `nil` when absent or null.
    public func nested(_ name: String) throws -> RequestData? {
        switch value(name) {
        case nil, .null: return nil
        case .object(let members):
            reads.markNested(prefix + name)
            return RequestData(members, reads: reads, prefix: prefix + name + ".")
        default: throw LeaseholdError.invalidRequest("\(name) must be an object")
        }
    }

    /// Every field, for a handler that consumes the whole body: every field counts as read, so none is reported as
    /// ignored (use ``inspectedFields`` to look without consuming).
    public func consumeAllFields() -> [String: JSONValue] {
        reads.markAll()
        return storage
    }

    /// Every field without counting any as read: for checks that look at a request without consuming it (policy
    /// parameter constraints).
    public var inspectedFields: [String: JSONValue] { storage }

    /// The field `name`, counted as read.
    public func value(_ name: String) -> JSONValue? {
        reads.mark(prefix + name)
        return storage[name]
    }

    /// Fields given a value (not null, false, zero or empty) that nothing read, sorted.
    public var ignoredFields: [String] {
        let read = reads.snapshot()
        guard !read.all else { return [] }
        return Self.ignored(in: storage, prefix: prefix, read: read).sorted()
    }

    private static func ignored(
        in fields: [String: JSONValue], prefix: String, read: (all: Bool, names: Set<String>, nested: Set<String>)
    ) -> [String] {
        fields.flatMap { key, value -> [String] in
            let path = prefix + key
            if read.nested.contains(path), case .object(let members) = value {
                return ignored(in: members, prefix: path + ".", read: read)
            }
            return read.names.contains(path) || value.isUnset ? [] : [path]
        }
    }

    /// Whether the field is present and not null.
    public func contains(_ name: String) -> Bool {
        if let value = value(name), value != .null { return true }
        return false
    }

    /// A string field; numbers and booleans are rendered as text.
    public func string(_ name: String) throws -> String? {
        switch value(name) {
        case nil, .null: return nil
        case .string(let value): return value
        case .number(let value): return JSONValue.text(of: value)
        case .bool(let value): return String(value)
        default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be a string")
        }
    }

    /// A boolean field (`true`, `"true"`, `1`, `"1"`).
    public func bool(_ name: String) throws -> Bool? {
        switch value(name) {
        case nil, .null: return nil
        case .bool(let value): return value
        case .number(let value): return value != 0
        case .string(let value):
            guard let flag = JSONValue.boolean(spelledBy: value) else {
                throw LeaseholdError.invalidRequest("field \"\(name)\" must be a boolean")
            }
            return flag
        default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be a boolean")
        }
    }

    /// An integer field.
    public func int(_ name: String) throws -> Int? {
        switch value(name) {
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
        switch value(name) {
        case nil, .null: return nil
        case .number(let value):
            guard let ttl = TTL(wholeSeconds: value) else {
                throw LeaseholdError.invalidRequest("field \"\(name)\" must be a non-negative duration")
            }
            return ttl
        case .string(let value):
            do { return try TTL.parse(value) } catch {
                throw LeaseholdError.invalidRequest("field \"\(name)\": invalid duration")
            }
        default: throw LeaseholdError.invalidRequest("field \"\(name)\" must be a duration")
        }
    }

    /// A list of strings: a JSON array, or a comma-separated string. Entries are trimmed; empty ones dropped.
    public func stringList(_ name: String) throws -> [String]? {
        switch value(name) {
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
        switch value(name) {
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

    /// A field that also has deprecated names, read as Vault's `UpgradeValue` does: the value under `name` when
    /// given, else under the first of `aliases` given. Every name is read (and checked), so none is reported as
    /// ignored.
    public func upgraded<Value>(_ name: String, aliases: String..., read: (String) throws -> Value?) throws -> Value? {
        var found: Value?
        for key in [name] + aliases {
            let value = try read(key)
            if found == nil { found = value }
        }
        return found
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

/// The names of the fields a request's handler read. Shared by copies of one ``RequestData``.
private final class FieldReads: Sendable {
    private let state = Mutex<(all: Bool, names: Set<String>, nested: Set<String>)>((false, [], []))

    func mark(_ name: String) { state.withLock { _ = $0.names.insert(name) } }

    /// `name` was read as an object whose own fields are tracked.
    func markNested(_ name: String) { state.withLock { _ = $0.nested.insert(name) } }

    func markAll() { state.withLock { $0.all = true } }

    func snapshot() -> (all: Bool, names: Set<String>, nested: Set<String>) { state.withLock { $0 } }
}

extension JSONValue {
    /// Null, false, zero, or an empty string, list or object: a value that asks for nothing.
    fileprivate var isUnset: Bool {
        switch self {
        case .null, .bool(false): true
        case .number(let number): number == 0
        case .string(let text): text.isEmpty
        case .array(let items): items.isEmpty
        case .object(let members): members.isEmpty
        default: false
        }
    }
}
