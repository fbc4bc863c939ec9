import LeaseholdCore

/// A named role of an auth method, parsed from a request over its previous version.
protocol AuthMethodRole: Codable, Sendable {
    /// Reads the fields present in `data` over `existing` (or the defaults), validating them.
    init(parsing data: RequestData, over existing: Self?) throws
    /// The fields of a role read.
    var json: [String: JSONValue] { get }
}

/// The `role` (LIST) and `role/:role` (GET, POST, DELETE) routes of an auth method whose roles are stored as
/// `Role` values under `<mount><name>` in one namespace.
enum AuthRoleRoutes<Role: AuthMethodRole> {
    /// The routes for roles kept in `namespace`.
    static func routes(in namespace: StoreNamespace) -> [Route] {
        [
            Route("role", handlers: [.list: { try await $0.listMountKeys(in: namespace) }]),
            Route("role/:role", handlers: [
                .read: { try await read($0, namespace) }, .update: { try await write($0, namespace) },
                .delete: { try await delete($0, namespace) },
            ]),
        ]
    }

    /// Where role `name` of this request's mount is stored (role names are case-insensitive, as in Vault).
    static func key(_ context: OperationContext, _ name: String, in namespace: StoreNamespace) throws -> StoreKey {
        StoreKey(namespace, try context.requireMount().path + name.lowercased())
    }

    /// Whether `name` can name a role (login requests pass it unchecked).
    static func isValidName(_ name: String) -> Bool {
        name.count <= IdentityLogin.maximumRoleNameLength && OperationContext.isValidName(name)
    }

    /// The role `name` of this request's mount, or `nil` when the name is invalid or no such role exists.
    static func existing(named name: String, in namespace: StoreNamespace, _ context: OperationContext) async throws -> Role? {
        guard isValidName(name) else { return nil }
        return try await context.services.store.read(Role.self, at: try key(context, name, in: namespace))?.value
    }

    private static func read(_ context: OperationContext, _ namespace: StoreNamespace) async throws -> LogicalResponse {
        let value = try await context.existing(Role.self, at: try key(context, try context.name("role"), in: namespace))
        return LogicalResponse(data: value.json)
    }

    private static func write(_ context: OperationContext, _ namespace: StoreNamespace) async throws -> LogicalResponse {
        let key = try key(context, try context.name("role"), in: namespace)
        let existing = try await context.services.store.read(Role.self, at: key)
        let role = try Role(parsing: context.data, over: existing?.value)
        try context.transaction.put(role, at: key, condition: existing.map { .version($0.version) } ?? .absent)
        return .noContent
    }

    private static func delete(_ context: OperationContext, _ namespace: StoreNamespace) async throws -> LogicalResponse {
        context.transaction.delete(try key(context, try context.name("role"), in: namespace))
        return .noContent
    }
}
