import Foundation
import LeaseholdCore
import LeaseholdSeal

/// Generates database usernames and passwords from restricted alphabets.
///
/// Usernames: lowercase `[a-z0-9_-]`, at most 63 bytes, always with at least 16 random characters, built from a
/// template whose identity-derived parts are sanitized and truncated first. Passwords: 32 characters from
/// `[A-Za-z0-9-_]` (no quotes, backslashes or `$`), so no value can change a statement's structure.
public enum CredentialGenerator {
    /// The default template, after Vault's `v-{{display_name}}-{{role}}-{{random 20}}-{{unix_time}}`.
    public static let defaultUsernameTemplate = "v-{{display_name}}-{{role}}-{{random 20}}-{{unix_time}}"
    /// Characters of generated passwords.
    public static let passwordAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    static let randomAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    /// The shortest random part a username may have.
    public static let minimumRandomLength = 16
    /// PostgreSQL's identifier limit in bytes.
    public static let maximumUsernameLength = 63

    /// Makes a username from `template` (empty: the default).
    ///
    /// Placeholders: `{{display_name}}`, `{{role}}`, `{{mount}}`, `{{environment}}` (sanitized, each at most 8
    /// characters), `{{random N}}` (N random characters, 16 ≤ N ≤ 40), `{{unix_time}}`. A template without a random
    /// part of at least 16 characters gets one appended.
    public static func makeUsername(
        template: String, displayName: String, role: String, mount: String, environment: String, now: Date
    ) throws -> DatabaseUsername {
        let source = template.isEmpty ? defaultUsernameTemplate : template
        var result = ""
        var randomLength = 0
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            result += sanitize(String(rest[..<open.lowerBound]), limit: 63)
            guard let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) else {
                throw LeaseholdError.invalidRequest("username_template: unclosed placeholder")
            }
            let placeholder = rest[open.upperBound..<close.lowerBound].trimmingWhitespace()
            rest = rest[close.upperBound...]
            switch placeholder {
            case "display_name": result += sanitize(displayName, limit: 8)
            case "role": result += sanitize(role, limit: 8)
            case "mount": result += sanitize(mount, limit: 8)
            case "environment": result += sanitize(environment, limit: 8)
            case "unix_time": result += String(Int64(now.timeIntervalSince1970))
            default:
                let parts = placeholder.split(separator: " ")
                guard parts.count == 2, parts[0] == "random", let count = Int(parts[1]), (16...40).contains(count) else {
                    throw LeaseholdError.invalidRequest("username_template: unknown placeholder")
                }
                result += SecureRandom.string(length: count, alphabet: randomAlphabet)
                randomLength += count
            }
        }
        result += sanitize(String(rest), limit: 63)
        if randomLength < minimumRandomLength {
            result += "-" + SecureRandom.string(length: minimumRandomLength, alphabet: randomAlphabet)
        }
        if result.utf8.count > maximumUsernameLength {
            throw LeaseholdError.invalidRequest("username_template produces names longer than 63 bytes")
        }
        if let first = result.first, !(first.isLetter || first == "_") { result = "v" + result.dropFirst() }
        return try DatabaseUsername(result)
    }

    /// Makes a password: 32 characters from ``passwordAlphabet``.
    public static func makePassword() -> SecretValue {
        SecretValue(SecureRandom.string(length: 32, alphabet: passwordAlphabet))
    }

    /// Lowercases and keeps `[a-z0-9_-]`, replacing anything else by `-`, then truncates.
    static func sanitize(_ text: String, limit: Int) -> String {
        let mapped = text.lowercased().unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "0"..."9", "_", "-": Character(scalar)
            default: "-"
            }
        }
        return String(mapped.prefix(limit))
    }
}
