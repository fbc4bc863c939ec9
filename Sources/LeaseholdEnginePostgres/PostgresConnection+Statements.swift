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

    /// Bounds the current transaction with `SET LOCAL statement_timeout` and `lock_timeout`.
    func setLocalTimeouts(_ configuration: PostgresTargetConfiguration, logger: Logger) async throws {
        try await query(
            PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(configuration.statementTimeout.sqlMilliseconds)"),
            logger: logger
        )
        try await query(
            PostgresQuery(unsafeSQL: "SET LOCAL lock_timeout = \(configuration.lockTimeout.sqlMilliseconds)"),
            logger: logger
        )
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
