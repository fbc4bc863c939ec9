import LeaseholdCore

/// The table of secrets-engine and auth-method mounts.
public struct MountTable: Sendable {
    let store: EncryptedStore

    /// Secrets-engine types that can be mounted.
    public static let engineTypes: Set<String> = ["database"]
    /// Auth-method types that can be mounted (besides the built-in `token`).
    public static let authTypes: Set<String> = ["approle", "userpass", "cert", "jwt", "oidc", "kubernetes"]

    /// The mounts every installation has; they cannot be disabled or moved.
    static let builtInEngines: [MountEntry] = [
        MountEntry(
            path: "sys/", type: "system", description: "system endpoints used for control, policy and debugging",
            accessor: "system_0", uuid: "00000000-0000-0000-0000-000000000001", defaultLeaseTTL: 0, maxLeaseTTL: 0,
            options: [:], local: false, sealWrap: false, environment: "default", listingVisibility: "")
    ]
    static let builtInAuth = MountEntry(
        path: "token/", type: "token", description: "token based credentials", accessor: "auth_token_0",
        uuid: "00000000-0000-0000-0000-000000000002", defaultLeaseTTL: 0, maxLeaseTTL: 0, options: [:], local: false,
        sealWrap: false, environment: "default", listingVisibility: "")

    /// Normalizes a mount path: no leading slash, exactly one trailing slash, safe characters only.
    public static func normalize(_ raw: String) throws -> String {
        var path = raw
        while path.hasPrefix("/") { path.removeFirst() }
        while path.hasSuffix("/") { path.removeLast() }
        guard !path.isEmpty, path.count <= 128,
            path.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./".contains($0)) }),
            !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." })
        else { throw LeaseholdError.invalidRequest("invalid mount path") }
        return path + "/"
    }

    /// All mounts of a kind, built-ins first.
    public func entries(auth: Bool) async throws -> [MountEntry] {
        let namespace: StoreNamespace = auth ? .authMounts : .mounts
        var result: [MountEntry] = []
        for key in try await store.base.allKeys(in: namespace) {
            if let entry = try await store.read(MountEntry.self, at: StoreKey(namespace, key)) {
                result.append(entry.value)
            }
        }
        if auth {
            if !result.contains(where: { $0.path == "token/" }) { result.insert(Self.builtInAuth, at: 0) }
        } else {
            result.insert(contentsOf: Self.builtInEngines, at: 0)
        }
        return result
    }

    /// The mount at `path` (normalized), if any.
    public func entry(at path: String, auth: Bool) async throws -> Versioned<MountEntry>? {
        let namespace: StoreNamespace = auth ? .authMounts : .mounts
        if let stored = try await store.read(MountEntry.self, at: StoreKey(namespace, path)) { return stored }
        if auth, path == "token/" { return Versioned(value: Self.builtInAuth, version: 0) }
        if !auth, let builtIn = Self.builtInEngines.first(where: { $0.path == path }) {
            return Versioned(value: builtIn, version: 0)
        }
        return nil
    }

    /// The auth mount that owns an API path below `auth/` (longest matching prefix), if any.
    public func authMount(owning path: String) async throws -> MountEntry? {
        guard path.hasPrefix("auth/") else { return nil }
        let parts = path.dropFirst(5).split(separator: "/")
        for length in stride(from: parts.count, through: 1, by: -1) {
            let candidate = parts.prefix(length).joined(separator: "/") + "/"
            if let entry = try await store.read(MountEntry.self, at: StoreKey(.authMounts, candidate)) {
                return entry.value
            }
        }
        return nil
    }

    /// The engine mount that owns an API path (longest matching prefix), if any.
    public func engine(owning path: String) async throws -> MountEntry? {
        let parts = path.split(separator: "/")
        for length in stride(from: parts.count, through: 1, by: -1) {
            let candidate = parts.prefix(length).joined(separator: "/") + "/"
            if let entry = try await store.read(MountEntry.self, at: StoreKey(.mounts, candidate)) {
                return entry.value
            }
        }
        return nil
    }
}
