import Foundation

/// Static checks of creation statements.
public enum TemplateCheck {
    /// Warnings for templates that grant per-object privileges directly to the ephemeral user: on PostgreSQL 15 a
    /// table refuses further grants after about 2,400 live grantees (`row is too big`), while membership in a
    /// group role has no such limit.
    public static func warnings(for statements: [String]) -> [String] {
        let perObject = statements.contains { statement in
            let text = statement.lowercased()
            return (text.contains("{{name}}") || text.contains("{{username}}")) && grantsOnObjects(text)
        }
        guard perObject else { return [] }
        return [
            "the creation statements grant privileges on objects directly to the generated user; each live user adds an entry to the object's ACL, and PostgreSQL refuses further grants after about 2,400 grantees (\"row is too big\"). Grant to a group role and make the user a member (CREATE ROLE ... IN ROLE group) instead."
        ]
    }

    /// Whether lowercased SQL has `grant <privileges> on`: the word `grant`, one or more words of letters and
    /// commas (`select,`, `all privileges`), then the word `on`. (Plain word matching: a regular expression here
    /// pulled ICU's regex engine into every role write.)
    static func grantsOnObjects(_ text: String) -> Bool {
        let words = text.split(whereSeparator: \.isWhitespace)
        let isPrivilegeWord = { (word: Substring) in
            word != "on" && word.allSatisfy { ("a"..."z").contains($0) || $0 == "," }
        }
        for (index, word) in words.enumerated() where word == "grant" {
            let privileges = words[(index + 1)...].prefix(while: isPrivilegeWord)
            if !privileges.isEmpty, words.dropFirst(index + 1 + privileges.count).first == "on" { return true }
        }
        return false
    }
}
