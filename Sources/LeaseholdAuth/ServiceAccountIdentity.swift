import LeaseholdCore

/// A Kubernetes service account as named by a token or by the TokenReview API.
public struct ServiceAccountIdentity: Sendable, Hashable {
    /// The namespace.
    public var namespace: String
    /// The service account's name.
    public var name: String
    /// The service account's UID (a new one when an account is deleted and re-created).
    public var uid: String

    /// The longest accepted name, namespace or UID (DNS subdomains are at most 253 characters).
    static let maximumLength = 253

    /// Creates an identity; every part must be non-empty and at most 253 characters.
    public init(namespace: String, name: String, uid: String) throws(JWTValidationError) {
        guard [namespace, name, uid].allSatisfy({ !$0.isEmpty && $0.utf8.count <= Self.maximumLength }) else {
            throw .missingIdentityClaim
        }
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }

    /// Reads the claims of a service-account token: projected tokens carry `kubernetes.io.namespace` and
    /// `kubernetes.io.serviceaccount.{name,uid}`; legacy secret-based tokens carry
    /// `kubernetes.io/serviceaccount/namespace`, `…/service-account.name` and `…/service-account.uid`.
    public init(claims: JWTClaimSet) throws(JWTValidationError) {
        if case .object(let projected)? = claims.claims["kubernetes.io"] {
            let account = projected["serviceaccount"]?.objectValue
            try self.init(
                namespace: projected["namespace"]?.stringValue ?? "", name: account?["name"]?.stringValue ?? "",
                uid: account?["uid"]?.stringValue ?? "")
        } else {
            try self.init(
                namespace: claims.string("kubernetes.io/serviceaccount/namespace") ?? "",
                name: claims.string("kubernetes.io/serviceaccount/service-account.name") ?? "",
                uid: claims.string("kubernetes.io/serviceaccount/service-account.uid") ?? "")
        }
    }
}
