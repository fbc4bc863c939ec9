import Foundation
import LeaseholdCore
import LeaseholdSeal

/// A userpass user: a scrypt password hash and token settings.
struct UserpassUser: Codable, Sendable {
    var name: String
    var passwordHash: String
    var token: TokenSettings
}

/// The userpass auth method for people (DBAs, auditors): `users/:name`, `login/:name`.
///
/// Usernames are canonical (trimmed, lowercased, Unicode NFC) before any lookup or lockout, so `Admin`, ` admin`
/// and `admin` are one user with one failure counter. Unknown users cost the same hashing work as known ones.
enum UserpassBackend {
    static let routes: [Route] = [
        Route("users", handlers: [.list: listUsers]),
        Route("users/:name", handlers: [.read: readUser, .update: writeUser, .delete: deleteUser]),
        Route("users/:name/password", handlers: [.update: changePassword]),
        Route("users/:name/policies", handlers: [.update: changePolicies]),
        Route("login/:name", authentication: .none, handlers: [.update: login]),
    ]

    static let invalidLogin = LeaseholdError.invalidRequest("invalid username or password")

    /// The limiter every scrypt computation of this method goes through. One hash takes tens of milliseconds and
    /// 32 MiB, and logins need no token: two run at once, off the cooperative pool, with 32 callers in line; more
    /// are refused with 429 (not counted as failed logins), so a flood of logins costs the broker at most two
    /// threads and 64 MiB instead of every thread its other requests run on.
    static func hashingLimiter() -> BlockingWorkLimiter {
        BlockingWorkLimiter(
            maximumRunning: 2, maximumWaiting: 32, refusal: "too many password logins in progress; retry later")
    }

    /// The canonical form of a username.
    static func canonical(_ raw: String) throws -> String {
        let name = raw.trimmingWhitespace().precomposedStringWithCanonicalMapping.lowercased()
        guard !name.isEmpty, name.count <= 128, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "/" }) else {
            throw LeaseholdError.invalidRequest("invalid username")
        }
        return name
    }

    static func userKey(_ context: OperationContext, _ name: String) throws -> StoreKey {
        StoreKey(.userpassUsers, try context.requireMount().path + name)
    }

    static func listUsers(_ context: OperationContext) async throws -> LogicalResponse {
        try await context.listMountKeys(in: .userpassUsers)
    }

    static func readUser(_ context: OperationContext) async throws -> LogicalResponse {
        let value = try await context.existing(UserpassUser.self, at: try userKey(context, try canonical(context.parameter("name"))))
        return LogicalResponse(data: value.token.json)
    }

    static func writeUser(_ context: OperationContext) async throws -> LogicalResponse {
        let name = try canonical(context.parameter("name"))
        let key = try userKey(context, name)
        let existing = try await context.services.store.read(UserpassUser.self, at: key)
        var user = existing?.value ?? UserpassUser(name: name, passwordHash: "", token: TokenSettings())
        user.token = try TokenSettings(parsing: context.data, over: existing?.value.token)
        if context.data.contains("password_hash") {
            throw LeaseholdError.invalidRequest("password_hash is not supported: send the password itself")
        }
        if let password = try context.data.string("password") {
            user.passwordHash = try await hash(password, context)
        }
        guard !user.passwordHash.isEmpty else { throw LeaseholdError.invalidRequest("missing password") }
        try context.transaction.put(user, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        return .noContent
    }

    static func hash(_ password: String, _ context: OperationContext) async throws -> String {
        guard (8...1024).contains(password.count) else {
            throw LeaseholdError.invalidRequest("passwords must be 8 to 1024 characters")
        }
        return try await context.services.passwordHashing.run { try PasswordHasher.hash(SecretValue(password)) }
    }

    /// Spends an unknown user's hashing work (see ``PasswordHasher/burn(_:)``) through the limiter.
    private static func burn(_ password: SecretValue, _ context: OperationContext) async throws {
        try await context.services.passwordHashing.run { PasswordHasher.burn(password) }
    }

    static func deleteUser(_ context: OperationContext) async throws -> LogicalResponse {
        context.transaction.delete(try userKey(context, try canonical(context.parameter("name"))))
        return .noContent
    }

    static func changePassword(_ context: OperationContext) async throws -> LogicalResponse {
        let hashed = try await hash(try context.data.requiredString("password"), context)
        return try await updateUser(context) { $0.passwordHash = hashed }
    }

    static func changePolicies(_ context: OperationContext) async throws -> LogicalResponse {
        try await updateUser(context) { $0.token = try TokenSettings(parsing: context.data, over: $0.token) }
    }

    /// Applies `change` to an existing user, conditionally on the version read.
    private static func updateUser(
        _ context: OperationContext, _ change: (inout UserpassUser) throws -> Void
    ) async throws -> LogicalResponse {
        let key = try userKey(context, try canonical(context.parameter("name")))
        guard let user = try await context.services.store.read(UserpassUser.self, at: key) else {
            throw LeaseholdError.invalidRequest("username does not exist")
        }
        var updated = user.value
        try change(&updated)
        try context.transaction.put(updated, at: key, condition: .version(user.version))
        return .noContent
    }

    static func login(_ context: OperationContext) async throws -> LogicalResponse {
        // The name is client input in the path: a password typed as the username must not reach the audit row.
        // The row names the login's user only once it is known to exist.
        let loginPath = "auth/" + (try context.requireMount().path) + "login/"
        context.transaction.auditPath(loginPath + "<unknown user>")
        let password = SecretValue(try context.data.string("password") ?? "")
        guard let name = try? canonical(context.parameter("name")) else {
            try await burn(password, context)
            throw invalidLogin
        }
        // Lockout is keyed on the canonical username only (every spelling, from every address, shares it).
        let key = "\(try context.requireMount().path)user|\(name)"
        return try await context.services.loginThrottle.guarding(key, now: context.now) {
            let user = try await context.services.store.read(UserpassUser.self, at: try userKey(context, name))?.value
            guard let user else {
                try await burn(password, context)
                throw invalidLogin
            }
            // Only an existing user's name reaches the audit row (a password typed as the username must not).
            context.transaction.annotate("login_username", name)
            context.transaction.auditPath(loginPath + name)
            let hash = user.passwordHash
            guard try await context.services.passwordHashing.run({ PasswordHasher.verify(password, against: hash) })
            else { throw invalidLogin }
            return try LoginIssuer.issue(
                user.token, source: try userKey(context, name), displayName: name, metadata: ["username": name], context: context)
        }
    }
}
