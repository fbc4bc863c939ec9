/// A `{{…}}` placeholder of Vault's statement templates.
public enum StatementPlaceholder: String, Sendable, Hashable, CaseIterable {
    /// The generated username.
    case name
    /// The generated username (alias of ``name``).
    case username
    /// The generated password (or its SCRAM verifier).
    case password
    /// The user's expiry, `YYYY-MM-DD HH:MM:SS+00`.
    case expiration
    /// The target database's name.
    case database

    /// The placeholder as written in templates, for example `{{name}}`.
    var token: String { "{{\(rawValue)}}" }

    /// Where the placeholder may appear: identifiers may sit in `"…"` or `'…'`, the others only in `'…'`.
    func isAllowed(in context: PlaceholderContext) -> Bool {
        switch (self, context) {
        case (.name, .quotedIdentifier), (.username, .quotedIdentifier), (.database, .quotedIdentifier): true
        case (_, .stringLiteral): true
        default: false
        }
    }
}

/// The lexical position of a placeholder in a statement.
enum PlaceholderContext: Sendable, Hashable {
    /// Inside `"…"`.
    case quotedIdentifier
    /// Inside `'…'` or `E'…'`.
    case stringLiteral
    /// Outside any quotes, where a value could change the statement's structure.
    case bare
    /// Inside a `--` or `/* */` comment.
    case comment

    /// How the context is described in error messages.
    var phrase: String {
        switch self {
        case .quotedIdentifier: "inside double quotes"
        case .stringLiteral: "inside single quotes"
        case .bare: "outside quotes"
        case .comment: "inside a comment"
        }
    }
}
