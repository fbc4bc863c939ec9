/// A JSON document, as accepted from and returned to API clients.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The object's members, or `nil` when this is not an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The string, or `nil` when this is not a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The elements, or `nil` when this is not an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The number, or `nil` when this is not a number.
    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    /// Makes a JSON value from an integer.
    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }
    /// Makes a JSON array of strings.
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if let integer = Self.integer(value) {
                try container.encode(integer)
            } else {
                try container.encode(value)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue {
    /// The value as compact JSON text (UTF-8), written directly: for response bodies on the hot path, where the
    /// generic `JSONEncoder` cost more than the rest of rendering. Integral numbers below 9e15 are written as
    /// integers (as `encode(to:)` does); strings are escaped as ``JSONTextWriter`` does, `/` left as is.
    ///
    /// Throws ``LeaseholdError/Code/internalError`` for a non-finite number, which JSON cannot represent.
    public func jsonBytes() throws -> [UInt8] {
        var writer = JSONTextWriter(escapesSlashes: false)
        try write(to: &writer)
        return writer.bytes
    }

    private func write(to writer: inout JSONTextWriter) throws {
        switch self {
        case .null: writer.writeNull()
        case .bool(let value): writer.writeBool(value)
        case .number(let value):
            if let integer = Self.integer(value) {
                writer.writeInteger(integer)
            } else if !writer.writeFloatingPoint(value) {
                throw LeaseholdError(.internalError, "a number in the response is not finite")
            }
        case .string(let value): writer.writeString(value)
        case .array(let elements):
            writer.write(byte: UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { writer.write(byte: UInt8(ascii: ",")) }
                try element.write(to: &writer)
            }
            writer.write(byte: UInt8(ascii: "]"))
        case .object(let members):
            writer.write(byte: UInt8(ascii: "{"))
            var first = true
            for (key, member) in members {
                if !first { writer.write(byte: UInt8(ascii: ",")) }
                first = false
                writer.writeString(key)
                writer.write(byte: UInt8(ascii: ":"))
                try member.write(to: &writer)
            }
            writer.write(byte: UInt8(ascii: "}"))
        }
    }

    /// A number as text: integral numbers below 9e15 (exact in a `Double`) without a fraction, others as Swift
    /// renders a `Double` (`1.5`, `1e+300`). Never traps, however large the number a client sent.
    public static func text(of number: Double) -> String {
        integer(number).map { String($0) } ?? String(number)
    }

    /// The boolean a field's text spells under Vault's weak typing (`true`, `1`, `t`, `yes`; `false`, `0`, `f`,
    /// `no`, and the empty string), or `nil`. Handlers and policy parameter checks read text through this one table,
    /// so a policy never reads a value differently from the handler it guards.
    public static func boolean(spelledBy text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "1", "t", "yes": true
        case "false", "0", "f", "no", "": false
        default: nil
        }
    }

    /// A number written as an integer: integral and below 9e15 (exact in a `Double`).
    private static func integer(_ value: Double) -> Int64? {
        value.rounded() == value && abs(value) < 9.0e15 ? Int64(value) : nil
    }
}
