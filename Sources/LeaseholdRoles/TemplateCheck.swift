import Foundation

/// Static checks of creation statements.
public enum TemplateCheck {
    /// Warnings for templates that grant per-object privileges directly to the ephemeral user: on PostgreSQL 15 a
    /// table refuses further grants after about 2,400 live grantees (`row is too big`), while membership in a
    /// group role has no such limit.
    public static func warnings(for statements: [String]) -> [String] {
        let perObject = statements.contains { statement in
            let text = statement.lowercased()
            guard text.contains("grant"), text.contains(" on "), text.contains("{{name}}") || text.contains("{{username}}") else {
                return false
            }
            return text.range(of: #"grant\s+[a-z, ]+\s+on\s+"#, options: .regularExpression) != nil
        }
        guard perObject else { return [] }
        return [
            "the creation statements grant privileges on objects directly to the generated user; each live user adds an entry to the object's ACL, and PostgreSQL refuses further grants after about 2,400 grantees (\"row is too big\"). Grant to a group role and make the user a member (CREATE ROLE ... IN ROLE group) instead."
        ]
    }
}
