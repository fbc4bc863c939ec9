import Foundation
import LeaseholdCore
import LeaseholdPolicy
import LeaseholdRoles

/// The database secrets engine: connections, roles, and dynamic credentials under leases.
enum DatabaseBackend {
    static let routes: [Route] = [
        Route("config", handlers: [.list: listConnections]),
        Route("config/:name", exists: connectionExists, handlers: [.read: readConnection, .update: writeConnection, .delete: deleteConnection]),
        Route("reset/:name", handlers: [.update: resetConnection]),
        Route("rotate-root/:name", handlers: [.update: rotateRoot]),
        Route("roles", handlers: [.list: listRoles]),
        Route("roles/:name", exists: roleExists, handlers: [.read: readRole, .update: writeRole, .delete: deleteRole]),
        Route("creds/:name", handlers: [.read: issueCredential, .update: issueCredential]),
        Route("validate-role", sudo: [.update, .create], handlers: [.update: validateRole]),
    ]

    /// How long a pending issuance may take before the reaper treats it as crashed and cleans the target up.
    static let pendingDeadline: TimeInterval = 120

    // MARK: Names and keys

    static func name(_ context: OperationContext) throws -> String { try context.name("name") }

    static func connectionKey(_ context: OperationContext, _ name: String) throws -> StoreKey {
        StoreKey(.databaseConnections, try context.requireMount().path + name)
    }

    static func roleKey(_ context: OperationContext, _ name: String) throws -> StoreKey {
        StoreKey(.databaseRoles, try context.requireMount().path + name)
    }

    static func environmentName(_ raw: String?) throws -> String {
        guard let raw, !raw.isEmpty else { return "default" }
        guard raw.count <= 64, raw.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw LeaseholdError.invalidRequest("invalid environment name")
        }
        return raw
    }

    // MARK: Connections

    static func connectionExists(_ context: OperationContext) async throws -> Bool {
        try await context.services.store.base.entry(try connectionKey(context, try name(context))) != nil
    }

    static func listConnections(_ context: OperationContext) async throws -> LogicalResponse {
        try await context.listMountKeys(in: .databaseConnections) { key in
            try await context.services.store.read(DatabaseConnection.self, at: StoreKey(.databaseConnections, key))?.value.retired != true
        }
    }

    static func activeConnection(_ context: OperationContext, _ name: String) async throws -> Versioned<DatabaseConnection>? {
        guard let stored = try await context.services.store.read(DatabaseConnection.self, at: try connectionKey(context, name)),
            !stored.value.retired
        else { return nil }
        return stored
    }

    static func readConnection(_ context: OperationContext) async throws -> LogicalResponse {
        guard let connection = try await activeConnection(context, try name(context)) else { throw LeaseholdError.notFound }
        return LogicalResponse(data: connection.value.json)
    }

    static func writeConnection(_ context: OperationContext) async throws -> LogicalResponse {
        let name = try name(context)
        let key = try connectionKey(context, name)
        let existing = try await context.services.store.read(DatabaseConnection.self, at: key)
        let data = context.data
        let pluginName = try data.string("plugin_name") ?? existing?.value.settings.pluginName ?? ""
        guard context.services.engines?.supportedPlugins.contains(pluginName) == true else {
            throw LeaseholdError.invalidRequest("unsupported plugin_name \"\(pluginName.prefix(64))\"")
        }
        guard let url = try data.string("connection_url") ?? existing?.value.settings.connectionURL, !url.isEmpty else {
            throw LeaseholdError.invalidRequest("connection_url is required")
        }
        let username = try data.string("username") ?? existing?.value.settings.username ?? ""
        let password = try data.string("password").map(SecretValue.init) ?? existing?.value.settings.password ?? SecretValue("")
        var settings = DatabaseConnectionSettings(
            pluginName: pluginName, connectionURL: url, username: username, password: password,
            passwordAuthentication: try data.string("password_authentication") ?? existing?.value.settings.passwordAuthentication ?? "password",
            maxOpenConnections: try data.int("max_open_connections") ?? existing?.value.settings.maxOpenConnections ?? 4,
            tlsCA: try data.string("tls_ca") ?? existing?.value.settings.tlsCA,
            tlsCertificate: try data.string("tls_certificate") ?? existing?.value.settings.tlsCertificate,
            tlsPrivateKey: try data.string("private_key").map(SecretValue.init) ?? existing?.value.settings.tlsPrivateKey)
        guard ["password", "scram-sha-256"].contains(settings.passwordAuthentication) else {
            throw LeaseholdError.invalidRequest("password_authentication must be \"password\" or \"scram-sha-256\"")
        }
        guard (1...64).contains(settings.maxOpenConnections) else {
            throw LeaseholdError.invalidRequest("max_open_connections must be between 1 and 64")
        }
        if settings.tlsCA?.isEmpty == true { settings.tlsCA = nil }
        if username.contains("{{") || password.revealed.contains("{{") {
            throw LeaseholdError.invalidRequest("username and password may not contain templates")
        }
        var warnings: [String] = []
        if let components = URLComponents(string: url), let literal = components.password, !literal.isEmpty, literal != "{{password}}" {
            warnings.append("the connection_url contains a literal password; use a templated URL ({{username}}:{{password}}) to enable root rotation")
        }
        let connection = DatabaseConnection(
            name: name, settings: settings,
            allowedRoles: try data.stringList("allowed_roles") ?? existing?.value.allowedRoles ?? [],
            usernameTemplate: try data.string("username_template") ?? existing?.value.usernameTemplate ?? "",
            passwordPolicy: try data.string("password_policy") ?? existing?.value.passwordPolicy ?? "",
            rootRotationStatements: try StatementList.parse(data, "root_rotation_statements") ?? existing?.value.rootRotationStatements ?? [],
            environment: try environmentName(try data.string("environment") ?? existing?.value.environment),
            retired: false, pendingRootPassword: existing?.value.pendingRootPassword)
        if !connection.rootRotationStatements.isEmpty {
            // Refused rather than stored unused: a DBA who writes them expects them to run.
            throw LeaseholdError.invalidRequest(
                "root_rotation_statements are not supported (send an empty list to clear stored ones): rotate-root always runs ALTER ROLE SESSION_USER PASSWORD")
        }
        if !connection.passwordPolicy.isEmpty {
            throw LeaseholdError.invalidRequest("password_policy \"\(connection.passwordPolicy.prefix(64))\" does not exist; only the built-in policy is available")
        }
        _ = try CredentialGenerator.makeUsername(
            template: connection.usernameTemplate, displayName: "check", role: "check", mount: "check", environment: "check", now: context.now)
        if try data.bool("verify_connection") ?? true {
            guard let engines = context.services.engines else { throw LeaseholdError.invalidRequest("no database engines are available") }
            try await engines.verify(connection)
        }
        try context.transaction.put(connection, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        context.transaction.annotate("connection", name)
        return warnings.isEmpty ? .noContent : LogicalResponse(warnings: warnings)
    }

    /// Deletes a connection, or retires it while leases still use it (they keep it to be revoked).
    ///
    /// It is retired first, in a commit of its own: an issuance commits its pending lease only while the
    /// connection is unchanged (``CredentialIssuer``), so once it is retired no new lease can appear, and the
    /// leases found afterwards are all it will ever have. Only then, with none, is it deleted.
    static func deleteConnection(_ context: OperationContext) async throws -> LogicalResponse {
        let name = try name(context)
        let key = try connectionKey(context, name)
        guard var existing = try await context.services.store.read(DatabaseConnection.self, at: key) else { return .noContent }
        if !existing.value.retired {
            var retired = existing.value
            retired.retired = true
            let retirement = StoreTransaction(store: context.services.store)
            try retirement.put(retired, at: key, condition: .version(existing.version))
            try await context.services.commit(
                retirement.batch(appending: DatabaseConnection.stepEvent("database.connection.retire", name, context)))
            existing = Versioned(value: retired, version: existing.version + 1)
        }
        await context.services.engines?.reset(key: key.description)
        let mountPath = try context.requireMount().path
        for id in try await context.services.leases.ids(withPrefix: mountPath + "creds/") {
            if let lease = try await context.services.leases.lease(id), lease.value.connection == name { return .noContent }
        }
        context.transaction.delete(key, condition: .version(existing.version))
        return .noContent
    }

    static func resetConnection(_ context: OperationContext) async throws -> LogicalResponse {
        let name = try name(context)
        let key = try connectionKey(context, name)
        guard let connection = try await activeConnection(context, name) else { throw LeaseholdError.invalidRequest("unknown connection \(name)") }
        _ = try await RootRotation.recover(connection, key: key, context: context)
        await context.services.engines?.reset(key: key.description)
        return .noContent
    }

    static func rotateRoot(_ context: OperationContext) async throws -> LogicalResponse {
        try await RootRotation.rotate(context, connectionName: try name(context))
    }

    // MARK: Roles

    static func roleExists(_ context: OperationContext) async throws -> Bool {
        try await context.services.store.base.entry(try roleKey(context, try name(context))) != nil
    }

    static func listRoles(_ context: OperationContext) async throws -> LogicalResponse {
        try await context.listMountKeys(in: .databaseRoles)
    }

    static func readRole(_ context: OperationContext) async throws -> LogicalResponse {
        let value = try await context.existing(DatabaseRole.self, at: try roleKey(context, try name(context)))
        return LogicalResponse(data: value.json)
    }

    static func writeRole(_ context: OperationContext) async throws -> LogicalResponse {
        let name = try name(context)
        let key = try roleKey(context, name)
        let existing = try await context.services.store.read(DatabaseRole.self, at: key)
        let data = context.data
        guard let connectionName = try data.string("db_name") ?? existing?.value.connection, !connectionName.isEmpty else {
            throw LeaseholdError.invalidRequest("db_name is required")
        }
        if let type = try data.string("credential_type"), !["", "password"].contains(type) {
            throw LeaseholdError.invalidRequest("credential_type \"\(type.prefix(64))\" is not supported: only password credentials are issued")
        }
        if let config = data.value("credential_config"), config != .null, config != .object([:]) {
            throw LeaseholdError.invalidRequest("credential_config is not supported: passwords are 32 random characters")
        }
        let creation = try StatementList.parse(data, "creation_statements") ?? existing?.value.creationStatements ?? []
        guard !creation.isEmpty else { throw LeaseholdError.invalidRequest("creation_statements are required") }
        let role = DatabaseRole(
            name: name, connection: connectionName, creationStatements: creation,
            revocationStatements: try StatementList.parse(data, "revocation_statements") ?? existing?.value.revocationStatements ?? [],
            renewStatements: try StatementList.parse(data, "renew_statements") ?? existing?.value.renewStatements ?? [],
            rollbackStatements: try StatementList.parse(data, "rollback_statements") ?? existing?.value.rollbackStatements ?? [],
            defaultTTL: try data.ttl("default_ttl")?.seconds ?? existing?.value.defaultTTL ?? 0,
            maxTTL: try data.ttl("max_ttl")?.seconds ?? existing?.value.maxTTL ?? 0,
            environment: try environmentName(try data.string("environment") ?? existing?.value.environment),
            leasesOutliveToken: try data.bool("leases_outlive_token") ?? existing?.value.leasesOutliveToken ?? false,
            maxActiveLeases: try data.int("max_active_leases") ?? existing?.value.maxActiveLeases ?? 0,
            maxLeasesPerIdentity: try data.int("max_leases_per_identity") ?? existing?.value.maxLeasesPerIdentity ?? 0,
            description: try data.string("description") ?? existing?.value.description ?? "",
            owner: try data.string("owner") ?? existing?.value.owner ?? "",
            source: try data.string("source") ?? existing?.value.source ?? "api")
        guard role.maxTTL == 0 || role.defaultTTL <= role.maxTTL else {
            throw LeaseholdError.invalidRequest("default_ttl cannot exceed max_ttl")
        }
        guard role.maxActiveLeases >= 0, role.maxLeasesPerIdentity >= 0 else {
            throw LeaseholdError.invalidRequest("lease caps cannot be negative")
        }
        if let engines = context.services.engines {
            let plugin = try await activeConnection(context, connectionName)?.value.settings.pluginName ?? "postgresql-database-plugin"
            for statements in [role.creationStatements, role.revocationStatements, role.renewStatements, role.rollbackStatements]
            where !statements.isEmpty {
                try engines.checkStatements(statements, plugin: plugin)
            }
        }
        var warnings = TemplateCheck.warnings(for: role.creationStatements)
        let mountMax = try context.requireMount().maxLeaseTTL
        let systemMax = context.services.limits.maxTTL.seconds
        let effectiveMax = mountMax > 0 ? min(mountMax, systemMax) : systemMax
        if role.maxTTL > effectiveMax || role.defaultTTL > effectiveMax {
            warnings.append("max_ttl is greater than the mount's or system's maximum of \(TTL(seconds: effectiveMax)); leases will be capped to it")
        }
        if let connection = try await activeConnection(context, connectionName), connection.value.environment != role.environment {
            throw LeaseholdError.invalidRequest("the role's environment must match its connection's (\(connection.value.environment))")
        }
        try context.transaction.put(role, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        return warnings.isEmpty ? .noContent : LogicalResponse(warnings: warnings)
    }

    static func deleteRole(_ context: OperationContext) async throws -> LogicalResponse {
        context.transaction.delete(try roleKey(context, try name(context)))
        return .noContent
    }

    /// Leasehold extension: checks a role body without storing it: parsing, placeholders, and a dry run of its
    /// statements on the real target in a rolled-back transaction.
    static func validateRole(_ context: OperationContext) async throws -> LogicalResponse {
        let data = context.data
        let connectionName = try data.requiredString("db_name")
        guard let creation = try StatementList.parse(data, "creation_statements"), !creation.isEmpty else {
            throw LeaseholdError.invalidRequest("creation_statements are required")
        }
        let revocation = try StatementList.parse(data, "revocation_statements") ?? []
        guard let connection = try await activeConnection(context, connectionName) else {
            throw LeaseholdError.invalidRequest("unknown database connection \(connectionName)")
        }
        let engine = try await context.services.engine(key: try connectionKey(context, connectionName).description, connection: connection)
        let username = try CredentialGenerator.makeUsername(
            template: "", displayName: "validate", role: try data.string("name") ?? "role", mount: "", environment: "", now: context.now)
        do {
            try await engine.validateTemplate(
                DatabaseUserRequest(
                    username: username, password: CredentialGenerator.makePassword(), expiration: context.now.addingTimeInterval(60),
                    creationStatements: creation, leaseID: "validation"),
                revocationStatements: revocation)
        } catch let error as LeaseholdError {
            throw LeaseholdError.invalidRequest("the dry run failed: \(error.message)")
        }
        let warnings = TemplateCheck.warnings(for: creation)
        return LogicalResponse(data: ["valid": true], warnings: warnings)
    }

    // MARK: Credentials

    static func issueCredential(_ context: OperationContext) async throws -> LogicalResponse {
        try await CredentialIssuer(context: context, roleName: try name(context)).issue()
    }
}
