extension ACLPolicy {
    /// The name of the built-in policy attached to tokens unless `no_default_policy` is set.
    public static let defaultPolicyName = "default"

    /// The built-in `default` policy: what every token may do to and for itself.
    ///
    /// Same effect as Vault/OpenBao's default policy for the paths this broker implements.
    public static let defaultPolicyText = """
        # Inspect, renew and revoke the calling token itself.
        path "auth/token/lookup-self" {
          capabilities = ["read"]
        }
        path "auth/token/renew-self" {
          capabilities = ["update"]
        }
        path "auth/token/revoke-self" {
          capabilities = ["update"]
        }

        # Ask which capabilities the calling token has on given paths.
        path "sys/capabilities-self" {
          capabilities = ["update"]
        }

        # Show the combined ACL of the calling token (used by user interfaces).
        path "sys/internal/ui/resultant-acl" {
          capabilities = ["read"]
        }

        # Renew or inspect a lease whose id the caller already knows; sys/renew is the older spelling.
        path "sys/renew" {
          capabilities = ["update"]
        }
        path "sys/leases/renew" {
          capabilities = ["update"]
        }
        path "sys/leases/lookup" {
          capabilities = ["update"]
        }

        # A private scratch space per token.
        path "cubbyhole/*" {
          capabilities = ["create", "read", "update", "delete", "list"]
        }

        # Response wrapping: wrap a value, inspect a wrapping token, and unwrap it.
        path "sys/wrapping/wrap" {
          capabilities = ["update"]
        }
        path "sys/wrapping/lookup" {
          capabilities = ["update"]
        }
        path "sys/wrapping/unwrap" {
          capabilities = ["update"]
        }

        """

    /// The built-in `default` policy, parsed from ``defaultPolicyText``.
    public static var defaultPolicy: ACLPolicy {
        // The text is a constant covered by tests, so parsing cannot fail.
        try! parse(name: defaultPolicyName, text: defaultPolicyText)
    }
}
