import Foundation

/// Encodes `Encodable` values as compact JSON with object keys sorted bytewise (UTF-8), producing exactly the bytes
/// Foundation's `JSONEncoder` produces with `.sortedKeys` on Linux (see ``JSONTextWriter`` for the spelling), in a
/// fraction of its time: stored values and audit rows are encoded on every request.
///
/// Like `JSONEncoder`: `Date` follows ``dateEncoding``, `Data` is Base64, `URL` its absolute string, `Decimal` its
/// description; a key encoded twice keeps the last value; a value that encodes nothing is `{}`; NaN and the
/// infinities throw `EncodingError.invalidValue`.
public struct SortedJSONEncoder: Sendable {
    /// How dates are written.
    public enum DateEncoding: Sendable {
        /// Seconds since 1970 as a number (`JSONEncoder.DateEncodingStrategy.secondsSince1970`).
        case secondsSince1970
        /// A string made by the given function.
        case text(@Sendable (Date) -> String)
    }

    /// Whether `/` is written as `\/` (Foundation's default) rather than `/` (`.withoutEscapingSlashes`).
    public var escapesSlashes: Bool
    /// How dates are written.
    public var dateEncoding: DateEncoding

    /// Creates an encoder.
    public init(escapesSlashes: Bool = true, dateEncoding: DateEncoding = .secondsSince1970) {
        self.escapesSlashes = escapesSlashes
        self.dateEncoding = dateEncoding
    }

    /// The JSON text of `value`.
    public func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        guard let node = try SortedJSONNodeEncoder(options: self, codingPath: []).encodedNode(of: value) else {
            throw EncodingError.invalidValue(
                value, EncodingError.Context(codingPath: [], debugDescription: "Top-level \(Value.self) did not encode any values."))
        }
        var writer = JSONTextWriter(escapesSlashes: escapesSlashes)
        try node.write(to: &writer, depth: 0)
        return writer.bytes
    }
}

/// A value being encoded; containers are references so that nested containers can be filled after they are placed.
private enum SortedJSONNode {
    case null
    case bool(Bool)
    case string(String)
    case integer(Int64)
    case unsigned(UInt64)
    case double(Double)
    case float(Float)
    /// Text already spelled as JSON (a `Decimal`).
    case literal(String)
    case object(ObjectBuilder)
    case array(ArrayBuilder)

    final class ObjectBuilder {
        var members: [(key: String, value: SortedJSONNode)] = []
    }

    final class ArrayBuilder {
        var elements: [SortedJSONNode] = []
    }

    /// As Foundation, a container at this depth (the outermost is at 1) is refused.
    static let maximumDepth = 512

    func write(to writer: inout JSONTextWriter, depth: Int) throws {
        switch self {
        case .null: writer.writeNull()
        case .bool(let value): writer.writeBool(value)
        case .string(let value): writer.writeString(value)
        case .integer(let value): writer.writeInteger(value)
        case .unsigned(let value): writer.writeInteger(value)
        case .double(let value): _ = writer.writeFloatingPoint(value)
        case .float(let value): _ = writer.writeFloatingPoint(value)
        case .literal(let text): writer.bytes.append(contentsOf: text.utf8)
        case .array(let builder):
            guard depth + 1 < Self.maximumDepth else { throw Self.tooDeep }
            writer.write(byte: UInt8(ascii: "["))
            for (index, element) in builder.elements.enumerated() {
                if index > 0 { writer.write(byte: UInt8(ascii: ",")) }
                try element.write(to: &writer, depth: depth + 1)
            }
            writer.write(byte: UInt8(ascii: "]"))
        case .object(let builder):
            guard depth + 1 < Self.maximumDepth else { throw Self.tooDeep }
            writer.write(byte: UInt8(ascii: "{"))
            // A stable sort keeps the encoding order among equal keys; the last of them wins.
            let sorted = builder.members.enumerated().sorted { left, right in
                left.element.key == right.element.key
                    ? left.offset < right.offset
                    : left.element.key.utf8.lexicographicallyPrecedes(right.element.key.utf8)
            }
            var first = true
            for (index, member) in sorted.enumerated() {
                if index + 1 < sorted.count, sorted[index + 1].element.key == member.element.key { continue }
                if !first { writer.write(byte: UInt8(ascii: ",")) }
                first = false
                writer.writeString(member.element.key)
                writer.write(byte: UInt8(ascii: ":"))
                try member.element.value.write(to: &writer, depth: depth + 1)
            }
            writer.write(byte: UInt8(ascii: "}"))
        }
    }

    private static var tooDeep: EncodingError {
        EncodingError.invalidValue(
            0, EncodingError.Context(codingPath: [], debugDescription: "too many nested arrays or objects"))
    }
}

/// The `Encoder` handed to `encode(to:)`: it records the one value the encodable produces.
private final class SortedJSONNodeEncoder: Encoder {
    let options: SortedJSONEncoder
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// What was encoded; `nil` until the encodable asks for a container.
    var node: SortedJSONNode?

    init(options: SortedJSONEncoder, codingPath: [any CodingKey]) {
        self.options = options
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let builder: SortedJSONNode.ObjectBuilder
        if case .object(let existing) = node {
            builder = existing
        } else {
            builder = SortedJSONNode.ObjectBuilder()
            node = .object(builder)
        }
        return KeyedEncodingContainer(SortedJSONKeyedContainer(encoder: self, builder: builder, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let builder: SortedJSONNode.ArrayBuilder
        if case .array(let existing) = node {
            builder = existing
        } else {
            builder = SortedJSONNode.ArrayBuilder()
            node = .array(builder)
        }
        return SortedJSONUnkeyedContainer(encoder: self, builder: builder, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SortedJSONSingleValueContainer(encoder: self) }

    /// The node of a value, `{}` if it encoded nothing (as Foundation's encoder, below the top level).
    func node<Value: Encodable>(for value: Value, at key: (any CodingKey)? = nil) throws -> SortedJSONNode {
        try encodedNode(of: value, at: key) ?? .object(SortedJSONNode.ObjectBuilder())
    }

    /// The node of a value, with the special cases of Foundation's encoder; `nil` if it encoded nothing.
    func encodedNode<Value: Encodable>(of value: Value, at key: (any CodingKey)? = nil) throws -> SortedJSONNode? {
        // Comparing metatypes costs far less than trying a dynamic cast per candidate type.
        let type = Value.self
        if type == String.self { return .string(value as! String) }
        if type == Int.self { return .integer(Int64(value as! Int)) }
        if type == Bool.self { return .bool(value as! Bool) }
        if type == Date.self { return try node(for: value as! Date, at: key) }
        if type == Data.self { return .string((value as! Data).base64EncodedString()) }
        if type == URL.self { return .string((value as! URL).absoluteString) }
        if type == Decimal.self { return .literal((value as! Decimal).description) }
        let nested = SortedJSONNodeEncoder(options: options, codingPath: key.map { codingPath + [$0] } ?? codingPath)
        try value.encode(to: nested)
        return nested.node
    }

    func node(for date: Date, at key: (any CodingKey)?) throws -> SortedJSONNode {
        switch options.dateEncoding {
        case .secondsSince1970: return try node(for: date.timeIntervalSince1970, at: key)
        case .text(let format): return .string(format(date))
        }
    }

    func node(for value: Double, at key: (any CodingKey)?) throws -> SortedJSONNode {
        guard value.isFinite else { throw notFinite(value, at: key) }
        return .double(value)
    }

    func node(for value: Float, at key: (any CodingKey)?) throws -> SortedJSONNode {
        guard value.isFinite else { throw notFinite(value, at: key) }
        return .float(value)
    }

    private func notFinite(_ value: Any, at key: (any CodingKey)?) -> EncodingError {
        EncodingError.invalidValue(
            value,
            EncodingError.Context(
                codingPath: key.map { codingPath + [$0] } ?? codingPath,
                debugDescription: "Unable to encode \(value) directly in JSON."))
    }
}

/// An object's container.
private struct SortedJSONKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: SortedJSONNodeEncoder
    let builder: SortedJSONNode.ObjectBuilder
    let codingPath: [any CodingKey]

    private func put(_ node: SortedJSONNode, _ key: Key) { builder.members.append((key.stringValue, node)) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(try encoder.node(for: value, at: key), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(try encoder.node(for: value, at: key), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.unsigned(value), key) }
    mutating func encode<Value: Encodable>(_ value: Value, forKey key: Key) throws {
        put(try encoder.node(for: value, at: key), key)
    }

    /// The node last encoded for `key`, if any: asking twice for a key's nested container continues the same one,
    /// as Foundation's encoder does.
    private func existing(_ key: Key) -> SortedJSONNode? {
        builder.members.last { $0.key == key.stringValue }?.value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested: SortedJSONNode.ObjectBuilder
        if case .object(let reused)? = existing(key) {
            nested = reused
        } else {
            nested = SortedJSONNode.ObjectBuilder()
            put(.object(nested), key)
        }
        return KeyedEncodingContainer(
            SortedJSONKeyedContainer<NestedKey>(encoder: encoder, builder: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested: SortedJSONNode.ArrayBuilder
        if case .array(let reused)? = existing(key) {
            nested = reused
        } else {
            nested = SortedJSONNode.ArrayBuilder()
            put(.array(nested), key)
        }
        return SortedJSONUnkeyedContainer(encoder: encoder, builder: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> any Encoder {
        SortedJSONReferencingEncoder(parent: encoder, codingPath: codingPath) { node in
            builder.members.append((name, node))
        }
    }
}

/// An array's container.
private struct SortedJSONUnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: SortedJSONNodeEncoder
    let builder: SortedJSONNode.ArrayBuilder
    let codingPath: [any CodingKey]
    var count: Int { builder.elements.count }

    private var indexKey: any CodingKey { SortedJSONIndexKey(index: builder.elements.count) }

    mutating func encodeNil() throws { builder.elements.append(.null) }
    mutating func encode(_ value: Bool) throws { builder.elements.append(.bool(value)) }
    mutating func encode(_ value: String) throws { builder.elements.append(.string(value)) }
    mutating func encode(_ value: Double) throws { builder.elements.append(try encoder.node(for: value, at: indexKey)) }
    mutating func encode(_ value: Float) throws { builder.elements.append(try encoder.node(for: value, at: indexKey)) }
    mutating func encode(_ value: Int) throws { builder.elements.append(.integer(Int64(value))) }
    mutating func encode(_ value: Int8) throws { builder.elements.append(.integer(Int64(value))) }
    mutating func encode(_ value: Int16) throws { builder.elements.append(.integer(Int64(value))) }
    mutating func encode(_ value: Int32) throws { builder.elements.append(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { builder.elements.append(.integer(value)) }
    mutating func encode(_ value: UInt) throws { builder.elements.append(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { builder.elements.append(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { builder.elements.append(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { builder.elements.append(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { builder.elements.append(.unsigned(value)) }
    mutating func encode<Value: Encodable>(_ value: Value) throws {
        builder.elements.append(try encoder.node(for: value, at: indexKey))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = codingPath + [indexKey]
        let nested = SortedJSONNode.ObjectBuilder()
        builder.elements.append(.object(nested))
        return KeyedEncodingContainer(SortedJSONKeyedContainer<NestedKey>(encoder: encoder, builder: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = codingPath + [indexKey]
        let nested = SortedJSONNode.ArrayBuilder()
        builder.elements.append(.array(nested))
        return SortedJSONUnkeyedContainer(encoder: encoder, builder: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let index = builder.elements.count
        builder.elements.append(.null)
        return SortedJSONReferencingEncoder(parent: encoder, codingPath: codingPath) { [builder] node in
            builder.elements[index] = node
        }
    }
}

/// A single value's container: it sets the encoder's node.
private struct SortedJSONSingleValueContainer: SingleValueEncodingContainer {
    let encoder: SortedJSONNodeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.node = .null }
    mutating func encode(_ value: Bool) throws { encoder.node = .bool(value) }
    mutating func encode(_ value: String) throws { encoder.node = .string(value) }
    mutating func encode(_ value: Double) throws { encoder.node = try encoder.node(for: value, at: nil) }
    mutating func encode(_ value: Float) throws { encoder.node = try encoder.node(for: value, at: nil) }
    mutating func encode(_ value: Int) throws { encoder.node = .integer(Int64(value)) }
    mutating func encode(_ value: Int8) throws { encoder.node = .integer(Int64(value)) }
    mutating func encode(_ value: Int16) throws { encoder.node = .integer(Int64(value)) }
    mutating func encode(_ value: Int32) throws { encoder.node = .integer(Int64(value)) }
    mutating func encode(_ value: Int64) throws { encoder.node = .integer(value) }
    mutating func encode(_ value: UInt) throws { encoder.node = .unsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { encoder.node = .unsigned(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { encoder.node = .unsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { encoder.node = .unsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { encoder.node = .unsigned(value) }
    mutating func encode<Value: Encodable>(_ value: Value) throws { encoder.node = try encoder.node(for: value) }
}

/// The encoder of a `superEncoder()`: whatever it encodes is stored in its parent container when it is released.
private final class SortedJSONReferencingEncoder: Encoder {
    private let inner: SortedJSONNodeEncoder
    private let store: (SortedJSONNode) -> Void

    init(parent: SortedJSONNodeEncoder, codingPath: [any CodingKey], store: @escaping (SortedJSONNode) -> Void) {
        self.inner = SortedJSONNodeEncoder(options: parent.options, codingPath: codingPath)
        self.store = store
    }

    deinit { store(inner.node ?? .object(SortedJSONNode.ObjectBuilder())) }

    var codingPath: [any CodingKey] { inner.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> { inner.container(keyedBy: type) }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { inner.unkeyedContainer() }
    func singleValueContainer() -> any SingleValueEncodingContainer { inner.singleValueContainer() }
}

/// The coding key of an array element.
private struct SortedJSONIndexKey: CodingKey {
    let index: Int
    var stringValue: String { "Index \(index)" }
    var intValue: Int? { index }
    init(index: Int) { self.index = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.index = intValue }
}
