/// A value in an HCL or JSON configuration document.
///
/// Both syntaxes map onto this one tree, so consumers decode policies and server configuration without caring which
/// syntax the author used.
public indirect enum HCLValue: Sendable, Hashable {
    /// A string (quoted, or a heredoc).
    case string(String)
    /// A number; integers are represented exactly up to 2^53.
    case number(Double)
    /// A Boolean.
    case bool(Bool)
    /// A list of values.
    case list([HCLValue])
    /// An object: a block body or an object literal.
    case object(HCLObject)

    /// The string, or `nil` when this is not a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number, or `nil` when this is not a number.
    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The Boolean, or `nil` when this is not a Boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, or `nil` when this is not a list.
    public var listValue: [HCLValue]? {
        if case .list(let value) = self { return value }
        return nil
    }

    /// The object, or `nil` when this is not an object.
    public var objectValue: HCLObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// A short, secret-free name of the value's kind, for error messages (`"string"`, `"list"`, …).
    public var kindName: String {
        switch self {
        case .string: "string"
        case .number: "number"
        case .bool: "bool"
        case .list: "list"
        case .object: "object"
        }
    }
}
