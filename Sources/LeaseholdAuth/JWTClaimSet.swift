import LeaseholdCore

/// The claims of a JWT payload, with typed look-ups. A claim is named either directly (`email`) or, when the
/// name starts with `/`, by a JSON pointer into nested objects (`/kubernetes.io/namespace`), as Vault allows.
public struct JWTClaimSet: Sendable, Hashable {
    /// The raw claims.
    public let claims: [String: JSONValue]

    /// Wraps decoded claims.
    public init(_ claims: [String: JSONValue]) { self.claims = claims }

    /// The value at `name` (a claim name or a JSON pointer), if present and not null.
    public func value(at name: String) -> JSONValue? {
        guard name.hasPrefix("/") else { return claims[name].flatMap { $0 == .null ? nil : $0 } }
        var current: JSONValue = .object(claims)
        for token in name.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch current {
            case .object(let members):
                guard let next = members[key] else { return nil }
                current = next
            case .array(let items):
                guard let index = Int(key), items.indices.contains(index) else { return nil }
                current = items[index]
            default: return nil
            }
        }
        return current == .null ? nil : current
    }

    /// A string claim.
    public func string(_ name: String) -> String? { value(at: name)?.stringValue }

    /// A scalar claim as text: strings as they are, integers without a fraction, booleans as `true`/`false`.
    /// Lists, objects and absent claims yield `nil`.
    public func scalarText(at name: String) -> String? {
        value(at: name).flatMap(Self.text)
    }

    /// A scalar claim as text (see ``scalarText(at:)``), or the scalar elements of a list claim.
    public func textValues(at name: String) -> [String] {
        switch value(at: name) {
        case .array(let items)?: items.compactMap(Self.text)
        case let value?: Self.text(value).map { [$0] } ?? []
        case nil: []
        }
    }

    /// A NumericDate claim (`exp`, `nbf`, `iat`): `nil` when absent, an error when not a number.
    func numericDate(_ name: String) throws(JWTValidationError) -> Double? {
        switch claims[name] {
        case nil, .null?: return nil
        case .number(let seconds)?: return seconds
        default: throw .missingTimeClaims
        }
    }

    /// The `aud` claim as a list (RFC 7519 allows a single string): `nil` when absent, an error when malformed.
    func audiences() throws(JWTValidationError) -> [String]? {
        switch claims["aud"] {
        case nil, .null?: return nil
        case .string(let audience)?: return [audience]
        case .array(let items)?:
            var audiences: [String] = []
            for item in items {
                guard case .string(let audience) = item else { throw .audienceMismatch }
                audiences.append(audience)
            }
            return audiences
        default: throw .audienceMismatch
        }
    }

    static func text(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): JSONValue.text(of: number)
        default: nil
        }
    }
}
