import LeaseholdCore
import PostgresNIO

/// A failure reported by (or while reaching) the target server, reduced to secret-free facts: the SQLSTATE, a
/// scrubbed server message and the 1-based index of the failing template statement.
///
/// It replaces `PSQLError` as the `underlying` error of ``LeaseholdCore/LeaseholdError`` because `PSQLError`'s debug
/// description repeats the failing SQL, which may hold a password.
struct TargetDatabaseFailure: Error, Sendable, CustomStringConvertible {
    /// The server's SQLSTATE, or `nil` when the server was not reached.
    var sqlState: String?
    /// The server's message with secrets removed, or the client-side failure class.
    var message: String
    /// The 1-based index of the template statement that failed, if one did.
    var statementIndex: Int?

    /// Reduces `error` (a `PSQLError`, possibly inside a `PostgresTransactionError`) to secret-free facts.
    /// `secrets` are removed from the server message; `includeServerMessage` is false when the failing statement
    /// carried a secret, so that only the SQLSTATE is reported.
    init(_ error: any Error, statementIndex: Int? = nil, secrets: [String] = [], includeServerMessage: Bool = true) {
        let error = Self.unwrap(error)
        if let failure = error as? TargetDatabaseFailure {
            self.init(sqlState: failure.sqlState, message: failure.message, statementIndex: failure.statementIndex ?? statementIndex)
        } else if let error = error as? PSQLError, error.code == .server {
            var text = includeServerMessage ? (error.serverInfo?[.message] ?? "") : ""
            for secret in secrets where !secret.isEmpty { text = text.replacingOccurrences(of: secret, with: "<redacted>") }
            self.init(sqlState: error.serverInfo?[.sqlState], message: String(text.prefix(200)), statementIndex: statementIndex)
        } else if let error = error as? LeaseholdError {
            self.init(sqlState: nil, message: error.message, statementIndex: statementIndex)
        } else if let error = error as? PSQLError {
            self.init(sqlState: nil, message: "cannot reach the target database (\(error.code))", statementIndex: statementIndex)
        } else {
            self.init(sqlState: nil, message: "cannot reach the target database (\(type(of: error)))", statementIndex: statementIndex)
        }
    }

    /// Creates a failure from its parts.
    init(sqlState: String?, message: String, statementIndex: Int?) {
        self.sqlState = sqlState
        self.message = message
        self.statementIndex = statementIndex
    }

    /// The `PostgresTransactionError` wrapper's cause, or `error` itself.
    static func unwrap(_ error: any Error) -> any Error {
        if let transaction = error as? PostgresTransactionError {
            return transaction.closureError ?? transaction.beginError ?? transaction.commitError ?? error
        }
        return error
    }

    /// Whether retrying the whole transaction may succeed: serialization failures, deadlocks, and the catalog race
    /// `tuple concurrently updated` of concurrent `GRANT`s.
    var isTransient: Bool {
        switch sqlState {
        case "40001", "40P01": true
        case "XX000": message.contains("tuple concurrently updated")
        default: false
        }
    }

    /// A short, stable name for the SQLSTATE, for messages.
    var conditionName: String? {
        switch sqlState {
        case "42601": "syntax_error"
        case "42704": "undefined_object"
        case "42710": "duplicate_object"
        case "42501": "insufficient_privilege"
        case "42P01": "undefined_table"
        case "55P03": "lock_not_available"
        case "57014": "query_canceled"
        case "2BP01": "dependent_objects_still_exist"
        case "40001": "serialization_failure"
        case "40P01": "deadlock_detected"
        case "23505": "unique_violation"
        case "22023": "invalid_parameter_value"
        case "28P01": "invalid_password"
        case "3D000": "invalid_catalog_name"
        default: nil
        }
    }

    var description: String {
        var parts: [String] = []
        if let statementIndex { parts.append("statement \(statementIndex)") }
        if let sqlState { parts.append("SQLSTATE \(sqlState)" + (conditionName.map { " \($0)" } ?? "")) }
        let facts = parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
        return message.isEmpty ? String(facts.dropFirst(2).dropLast()) : message + facts
    }

    /// A caller-safe error for `operation` (for example "creating the database user").
    func leaseholdError(_ operation: String) -> LeaseholdError {
        let code: LeaseholdError.Code =
            switch sqlState {
            // No SQLSTATE: the server never answered this (refused or lost connection, cancelled wait), so whether
            // the transaction committed is unknown to the caller.
            case nil: .targetUnavailable
            case "42601", "42704", "42P01": .invalidRequest
            default: .internalError
            }
        return LeaseholdError(code, "\(operation) failed: \(description)", underlying: self)
    }
}
