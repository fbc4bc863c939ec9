import LeaseholdCore

extension StoreNamespace {
    /// Seal configuration and the sealed key ring (plaintext metadata; the ring is encrypted by the root key).
    public static let system = StoreNamespace(rawValue: "system")
    /// Token entries, keyed by the keyed hash of the token.
    public static let tokens = StoreNamespace(rawValue: "tokens")
    /// Accessor → token hash.
    public static let tokenAccessors = StoreNamespace(rawValue: "token-accessors")
    /// `parentHash/childHash` → empty, the child index used to revoke token trees.
    public static let tokenChildren = StoreNamespace(rawValue: "token-children")
    /// Token roles by name.
    public static let tokenRoles = StoreNamespace(rawValue: "token-roles")
    /// ACL policies by name.
    public static let policies = StoreNamespace(rawValue: "policies")
    /// Secrets engine mounts by path (`database/`).
    public static let mounts = StoreNamespace(rawValue: "mounts")
    /// Auth method mounts by path (`approle/`).
    public static let authMounts = StoreNamespace(rawValue: "auth-mounts")
    /// Wrapped responses, keyed by the keyed hash of their wrapping token.
    public static let wrappedResponses = StoreNamespace(rawValue: "wrapped-responses")
}
