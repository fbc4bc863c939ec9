import Foundation
import LeaseholdCore

/// An ``LeaseholdCore/AuditQuery`` as a small, dialect-neutral predicate tree that each store renders to its SQL
/// with bound parameters. Nothing from the query is spliced into the statement text, except a `details` key that is
/// one of the constants of ``indexedDetails``.
public indirect enum AuditPredicate: Sendable, Hashable {
    /// Where a compared value comes from.
    public enum Operand: Sendable, Hashable {
        /// A column of `audit_log`, from a fixed list.
        case column(AuditColumn)
        /// A member of the `details` JSON object; the key is bound as a parameter, or spelled literally when it is
        /// one of ``AuditPredicate/indexedDetails``.
        case detail(String)
    }

    /// Comparison operators.
    public enum Comparison: String, Sendable, Hashable {
        case equal = "="
        case greater = ">"
        case less = "<"
        case greaterOrEqual = ">="
        /// `LIKE` with `\` as the escape character.
        case like = "LIKE"
    }

    /// A bound value.
    public enum Value: Sendable, Hashable {
        case text(String)
        case integer(Int64)
        case time(Date)
    }

    /// `operand comparison value`.
    case compare(Operand, Comparison, Value)
    /// True when any of the predicates is.
    case any([AuditPredicate])

    /// The predicates (all must hold) for `query`.
    public static func conditions(for query: AuditQuery) -> [AuditPredicate] {
        var conditions: [AuditPredicate] = []
        if let after = query.after { conditions.append(.compare(.column(.sequence), .greater, .integer(after))) }
        if let before = query.before { conditions.append(.compare(.column(.sequence), .less, .integer(before))) }
        if let since = query.since { conditions.append(.compare(.column(.time), .greaterOrEqual, .time(since))) }
        if let until = query.until { conditions.append(.compare(.column(.time), .less, .time(until))) }
        if !query.types.isEmpty {
            conditions.append(.any(query.types.map { type in
                type.hasSuffix("*")
                    ? .compare(.column(.type), .like, .text(likeEscaped(String(type.dropLast())) + "%"))
                    : .compare(.column(.type), .equal, .text(type))
            }))
        }
        let exact: [(AuditColumn, String?)] = [
            (.outcome, query.outcome), (.environment, query.environment), (.accessor, query.accessor),
            (.displayName, query.displayName), (.authMethod, query.authMethod), (.path, query.path),
        ]
        for case (let column, let value?) in exact { conditions.append(.compare(.column(column), .equal, .text(value))) }
        for (key, value) in query.details.sorted(by: { $0.key < $1.key }) {
            conditions.append(.compare(.detail(key), .equal, .text(value)))
        }
        return conditions
    }

    /// The `details` members both stores index (schema version 2): a lease's timeline and the holder of a database
    /// user. The stores spell these with a literal key, as their index does (SQLite uses an expression index only
    /// for the same expression), and bind any other key.
    public static let indexedDetails: Set<String> = ["lease_id", "db_username"]

    /// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
    static func likeEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}

/// The filterable columns of `audit_log`; their raw values are the column names.
public enum AuditColumn: String, Sendable, Hashable {
    case sequence, time, type, outcome, environment, accessor, path
    case displayName = "display_name"
    case authMethod = "auth_method"
}
