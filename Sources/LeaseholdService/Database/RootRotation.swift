import Foundation
import LeaseholdCore

/// Two-phase rotation of a connection's admin password (`rotate-root/:name`).
///
/// 1. The new password is recorded as pending and committed. 2. The target changes the password. 3. A new
/// connection with the new password is verified. 4. The new password becomes current and the pending one is
/// cleared. A crash anywhere leaves one of the two passwords valid on the target and both in the store, and
/// ``recover(_:key:context:)`` settles which one works before any further rotation or reset. A password is dropped
/// only once the other one is known to work: when the target cannot tell (unreachable, or a change whose outcome
/// is unknown), both stay. Rotations of one connection take turns on this instance.
enum RootRotation {
    static func rotate(_ context: OperationContext, connectionName: String) async throws -> LogicalResponse {
        let key = StoreKey(.databaseConnections, try context.requireMount().path + connectionName)
        let turn = await context.services.issuanceLocks.acquire("root-rotation:" + key.description)
        defer { turn.release() }
        guard var current = try await context.services.store.read(DatabaseConnection.self, at: key), !current.value.retired else {
            throw LeaseholdError.invalidRequest("unknown connection \(connectionName)")
        }
        guard current.value.settings.connectionURL.contains("{{password}}") else {
            throw LeaseholdError.invalidRequest("cannot rotate the root credential: connection_url must use {{username}} and {{password}} templates")
        }
        current = try await recover(current, key: key, context: context)
        guard let engines = context.services.engines else { throw LeaseholdError.invalidRequest("no database engines are available") }

        // 1. Record the new password as pending.
        let newPassword = CredentialGenerator.makePassword()
        var pending = current.value
        pending.pendingRootPassword = newPassword
        let intent = StoreTransaction(store: context.services.store)
        try intent.put(pending, at: key, condition: .version(current.version))
        try await context.services.commit(intent.batch(appending: DatabaseConnection.stepEvent("root.rotate.pending", connectionName, context)))
        guard let recorded = try await context.services.store.read(DatabaseConnection.self, at: key) else {
            throw LeaseholdError(.internalError, "the connection vanished during rotation")
        }

        // 2. Change it on the target, with the current credential. Unless the server refused it, the change may
        // have happened (a lost answer, a deadline that left the statement running): the pending password stays
        // for the next rotation or reset to settle.
        do {
            let engine = try await context.services.engine(key: key.description, connection: current)
            try await engine.changeAdminPassword(to: newPassword)
        } catch let error as LeaseholdError where error.code == .targetUnavailable {
            throw LeaseholdError(
                .targetUnavailable, "root rotation did not complete (\(error.message)); database/reset/\(connectionName) settles it")
        } catch {
            var cleared = recorded.value
            cleared.pendingRootPassword = nil
            let rollback = StoreTransaction(store: context.services.store)
            try rollback.put(cleared, at: key, condition: .version(recorded.version))
            try await context.services.commit(rollback.batch(appending: DatabaseConnection.stepEvent("root.rotate.failed", connectionName, context)))
            throw LeaseholdError(.internalError, "root rotation failed on the target: \((error as? LeaseholdError)?.message ?? "error")")
        }

        // 3. Verify with a new connection using the new password.
        var rotated = recorded.value
        rotated.settings.password = newPassword
        rotated.pendingRootPassword = nil
        try await engines.verify(rotated)

        // 4. Commit it as current; the old engine goes once that is durable.
        try context.transaction.put(rotated, at: key, condition: .version(recorded.version))
        context.transaction.onCommit { await engines.reset(key: key.description) }
        context.transaction.annotate("connection", connectionName)
        return .noContent
    }

    /// Settles an interrupted rotation: promotes the pending password if the target accepts it, drops it if the
    /// current one works, and otherwise keeps both and throws (the target cannot tell which is right now). Returns
    /// the connection as stored afterwards.
    static func recover(
        _ connection: Versioned<DatabaseConnection>, key: StoreKey, context: OperationContext
    ) async throws -> Versioned<DatabaseConnection> {
        guard let pendingPassword = connection.value.pendingRootPassword, let engines = context.services.engines else {
            return connection
        }
        var candidate = connection.value
        candidate.settings.password = pendingPassword
        candidate.pendingRootPassword = nil
        var settled = connection.value
        settled.pendingRootPassword = nil
        if (try? await engines.verify(candidate)) != nil {
            settled = candidate
        } else if (try? await engines.verify(settled)) == nil {
            throw LeaseholdError(
                .targetUnavailable,
                "neither the current nor the pending admin password of \(connection.value.name) works on the target now; both are kept, try again")
        }
        let transaction = StoreTransaction(store: context.services.store)
        try transaction.put(settled, at: key, condition: .version(connection.version))
        try await context.services.commit(
            transaction.batch(appending: DatabaseConnection.stepEvent("root.rotate.recovered", connection.value.name, context)))
        await engines.reset(key: key.description)
        guard let stored = try await context.services.store.read(DatabaseConnection.self, at: key) else {
            throw LeaseholdError(.internalError, "the connection vanished during recovery")
        }
        return stored
    }

}
