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
    /// `<expiry in ms, 15 digits>/<token hash>`: tokens by expiry, so expired tokens (and their leases) are revoked.
    public static let tokenExpiry = StoreNamespace(rawValue: "token-expiry")
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
    /// Database connections by `<mount><name>`.
    public static let databaseConnections = StoreNamespace(rawValue: "db-connections")
    /// Database roles by `<mount><name>`.
    public static let databaseRoles = StoreNamespace(rawValue: "db-roles")
    /// Leases by lease id (`<mount>creds/<role>/<random>`).
    public static let leases = StoreNamespace(rawValue: "leases")
    /// The reaper's index: `<scheduled time in ms, 15 digits>/<lease id>`.
    public static let leaseSchedule = StoreNamespace(rawValue: "lease-schedule")
    /// `<token hash>/<lease id>`: the leases a token owns, revoked with it.
    public static let tokenLeases = StoreNamespace(rawValue: "token-leases")
    /// Lease ids whose revocation keeps failing.
    public static let leaseFailures = StoreNamespace(rawValue: "lease-failures")
    /// `<identity>/<request key>` → lease id, for idempotent issuance.
    public static let leaseRequestKeys = StoreNamespace(rawValue: "lease-request-keys")
    /// `<mount><role>/<keyed hash of the requester's identity>/<lease id>`: the leases each identity holds on a role,
    /// counted against the role's `max_leases_per_identity`.
    public static let leaseIdentities = StoreNamespace(rawValue: "lease-identities")
    /// Passwords of leases issued with a request key, so a retry can return the same credential.
    public static let leaseSecrets = StoreNamespace(rawValue: "lease-secrets")
    /// AppRole roles by `<mount><name>`.
    public static let appRoles = StoreNamespace(rawValue: "approle-roles")
    /// `<mount><keyed hash of role_id>` → role name.
    public static let appRoleIDs = StoreNamespace(rawValue: "approle-role-ids")
    /// `<mount><role>/<keyed hash of secret_id>` → secret id entry.
    public static let appRoleSecretIDs = StoreNamespace(rawValue: "approle-secret-ids")
    /// `<mount><role>/<accessor>` → keyed hash of the secret id.
    public static let appRoleSecretAccessors = StoreNamespace(rawValue: "approle-secret-accessors")
    /// Userpass users by `<mount><canonical username>`.
    public static let userpassUsers = StoreNamespace(rawValue: "userpass-users")
    /// The audit trail's own state: the Ed25519 checkpoint key, the newest checkpoint, the retention anchor.
    public static let auditTrail = StoreNamespace(rawValue: "audit-trail")
    /// Cert auth trusted-certificate entries by `<mount><name>`.
    public static let certRoles = StoreNamespace(rawValue: "cert-roles")
    /// Cert auth revocation lists by `<mount><name>`.
    public static let certRevocationLists = StoreNamespace(rawValue: "cert-crls")
    /// JWT/OIDC auth configurations by mount path.
    public static let jwtConfigs = StoreNamespace(rawValue: "jwt-configs")
    /// JWT/OIDC roles by `<mount><name>`.
    public static let jwtRoles = StoreNamespace(rawValue: "jwt-roles")
    /// Kubernetes auth configurations by mount path (the reviewer JWT is encrypted with the rest of the entry).
    public static let kubernetesConfigs = StoreNamespace(rawValue: "kubernetes-configs")
    /// Kubernetes roles by `<mount><name>`.
    public static let kubernetesRoles = StoreNamespace(rawValue: "kubernetes-roles")
    /// Enabled audit devices by path (`file/`).
    public static let auditDevices = StoreNamespace(rawValue: "audit-devices")
    /// `<device id>` → the last audit sequence the device's sink acknowledged.
    public static let auditCursors = StoreNamespace(rawValue: "audit-cursors")
}
