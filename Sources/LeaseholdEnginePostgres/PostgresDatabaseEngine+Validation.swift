import LeaseholdCore
import PostgresNIO

extension PostgresDatabaseEngine {
    /// Dry-runs a role template on the target: renders the creation statements for a throwaway user, runs them
    /// and then the revocation statements (or `DROP ROLE`) inside one transaction that is always rolled back.
    /// Nothing persists. Errors name the failing statement and its SQLSTATE, never the password.
    public func validateTemplate(_ request: DatabaseUserRequest, revocationStatements: [String]) async throws {
        let (statements, secrets) = try renderCreation(request)
        let revocation = revocationStatements.isEmpty
            ? nil : try StatementTemplate(revocationStatements).render(templateValues(username: request.username, extra: [:]))
        try await reporting("validating the role template") { [self] in
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    try await connection.setLocalSettings(configuration, logger: logger)
                    try await connection.executeTemplateStatements(statements, secrets: secrets, logger: logger)
                    if let revocation {
                        try await connection.executeTemplateStatements(revocation, secrets: [], logger: logger)
                    } else {
                        try await connection.executeServerRendered(
                            """
                            SELECT format('GRANT %I TO CURRENT_USER', \(request.username.rawValue))
                            WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                            UNION ALL SELECT format('DROP OWNED BY %I', \(request.username.rawValue))
                            UNION ALL SELECT format('DROP ROLE %I', \(request.username.rawValue))
                            """, logger: logger)
                    }
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
                try await connection.query("ROLLBACK", logger: logger)
            }
        }
    }
}
