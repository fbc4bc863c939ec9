import Logging
import PostgresNIO

extension PostgresConnection {
    /// Runs `rendering`, a `SELECT format(…)` that returns one statement per row with every value quoted by the
    /// server (`%I`, `%L`), then executes each returned statement.
    func executeServerRendered(_ rendering: PostgresQuery, logger: Logger) async throws {
        var statements: [String] = []
        for try await statement in try await query(rendering, logger: logger).decode(String.self) {
            statements.append(statement)
        }
        for statement in statements {
            try await query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// Bounds the current transaction with `statement_timeout` and `lock_timeout` (transaction-local, so a template
    /// that changed its session's settings cannot unbound a later transaction on the pooled connection) and sets
    /// `values`, transaction-local custom settings that constant server-side blocks read with `current_setting`.
    /// One round trip; every name and value is a bind parameter.
    func setLocalSettings(
        _ configuration: PostgresTargetConfiguration, values: [(name: String, value: String)] = [], logger: Logger
    ) async throws {
        let settings =
            [
                ("statement_timeout", "\(configuration.statementTimeout.sqlMilliseconds)"),
                ("lock_timeout", "\(configuration.lockTimeout.sqlMilliseconds)"),
            ] + values
        var bindings = PostgresBindings(capacity: settings.count * 2)
        var calls: [String] = []
        for (index, setting) in settings.enumerated() {
            bindings.append(setting.0)
            bindings.append(setting.1)
            calls.append("set_config($\(2 * index + 1), $\(2 * index + 2), true)")
        }
        try await query(PostgresQuery(unsafeSQL: "SELECT " + calls.joined(separator: ", "), binds: bindings), logger: logger)
    }

    /// Executes already rendered template statements (see the slice variant).
    func executeTemplateStatements(_ statements: [String], secrets: [String], logger: Logger) async throws {
        try await executeTemplateStatements(statements[...], secrets: secrets, logger: logger)
    }

    /// Executes already rendered template statements; a failure becomes a ``TargetDatabaseFailure`` naming the
    /// 1-based statement (its position in the whole template), with the server message dropped for statements that
    /// carried `secrets`.
    func executeTemplateStatements(
        _ statements: ArraySlice<String>,
        secrets: [String],
        logger: Logger
    ) async throws {
        for (offset, statement) in zip(statements.indices, statements) {
            do {
                try await query(PostgresQuery(unsafeSQL: statement), logger: logger)
            } catch {
                let carriesSecret = secrets.contains { !$0.isEmpty && statement.contains($0) }
                throw TargetDatabaseFailure(
                    error,
                    statementIndex: offset + 1,
                    secrets: secrets,
                    includeServerMessage: !carriesSecret
                )
            }
        }
    }
}
