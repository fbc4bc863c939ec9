import Foundation
import LeaseholdCore

/// A named Vault ACL policy: the `path` rules parsed from its HCL or JSON text.
public struct ACLPolicy: Sendable, Hashable {
    /// The normalized (trimmed, lowercase) name.
    public let name: String
    /// The rules in source order.
    public let rules: [PathRule]
    /// The policy text exactly as submitted.
    public let text: String

    /// Creates a policy from already parsed rules.
    public init(name: String, rules: [PathRule], text: String) {
        self.name = Self.normalizeName(name)
        self.rules = rules
        self.text = text
    }

    /// Parses policy text in HCL or JSON (JSON when the first non-space character is `{`).
    ///
    /// Throws ``LeaseholdError`` (invalid request) with a message starting `failed to parse policy: `, such as
    /// `failed to parse policy: path "x": invalid capability "bogus"`. Duplicate paths and duplicate attributes are
    /// rejected. The name is normalized but not validated; see ``validateName(_:)``.
    public static func parse(name: String, text: String) throws -> ACLPolicy {
        do {
            return ACLPolicy(name: name, rules: try PolicyDecoder.decodeRules(from: text), text: text)
        } catch {
            throw LeaseholdError.invalidRequest("failed to parse policy: \(error.message)")
        }
    }

    /// The canonical form of a policy name: surrounding whitespace removed, lowercased.
    public static func normalizeName(_ name: String) -> String {
        name.trimmingWhitespace().lowercased()
    }

    /// The longest accepted policy name, in characters.
    public static let maximumNameLength = 128

    /// Checks that a policy name may be written, and returns its normalized form.
    ///
    /// Rejects (invalid request) empty names, `root` in any case or padding, names containing `/` or control
    /// characters, and names longer than ``maximumNameLength``.
    @discardableResult
    public static func validateName(_ name: String) throws -> String {
        let normalized = normalizeName(name)
        guard !normalized.isEmpty else { throw LeaseholdError.invalidRequest("policy name cannot be empty") }
        guard normalized != "root" else { throw LeaseholdError.invalidRequest("cannot update \"root\" policy") }
        guard normalized.count <= maximumNameLength else {
            throw LeaseholdError.invalidRequest("policy name exceeds \(maximumNameLength) characters")
        }
        guard !normalized.contains("/"),
            !normalized.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw LeaseholdError.invalidRequest("policy name contains invalid characters")
        }
        return normalized
    }
}
