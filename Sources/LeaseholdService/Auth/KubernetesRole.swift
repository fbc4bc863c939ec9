import LeaseholdAuth
import LeaseholdCore

/// A `kubernetes` role: the service accounts (names and namespaces, as globs) that may log in through it, the
/// audience their tokens must carry, and what they get.
struct KubernetesRole: AuthMethodRole {
    /// How the identity of a login is named.
    enum AliasNameSource: String, Codable, Sendable {
        /// The service account's UID: a re-created account with the same name is a new identity (the default).
        case serviceAccountUID = "serviceaccount_uid"
        /// `<namespace>/<name>`: a re-created account inherits the identity.
        case serviceAccountName = "serviceaccount_name"
    }

    var boundNames: [String] = []
    var boundNamespaces: [String] = []
    var audience = ""
    var aliasNameSource = AliasNameSource.serviceAccountUID
    var token = TokenSettings()

    static let maximumBindings = 256

    /// Applies a role write over `existing`. Both binding lists are required, as in Vault: an empty list would
    /// bind nothing, so it is refused rather than stored.
    init(parsing data: RequestData, over existing: KubernetesRole?) throws {
        self = existing ?? KubernetesRole()
        token = try TokenSettings(parsing: data, over: existing?.token)
        if let value = try data.stringList("bound_service_account_names") { boundNames = value }
        if let value = try data.stringList("bound_service_account_namespaces") { boundNamespaces = value }
        if let value = try data.string("audience") { audience = value }
        if let value = try data.string("alias_name_source"), !value.isEmpty {
            guard let source = AliasNameSource(rawValue: value) else {
                throw LeaseholdError.invalidRequest("invalid alias_name_source \"\(value.prefix(32))\"")
            }
            aliasNameSource = source
        }
        for (name, list) in [("bound_service_account_names", boundNames), ("bound_service_account_namespaces", boundNamespaces)] {
            guard !list.isEmpty else { throw LeaseholdError.invalidRequest("\"\(name)\" can not be empty") }
            guard list.count == 1 || !list.contains("*") else { throw LeaseholdError.invalidRequest("can not mix \"*\" with values") }
            guard list.count <= Self.maximumBindings, list.allSatisfy({ $0.utf8.count <= 253 }) else {
                throw LeaseholdError.invalidRequest("\"\(name)\" has too many or too long values")
            }
        }
    }

    private init() {}

    /// Whether the role binds `account`'s name and namespace.
    func binds(_ account: ServiceAccountIdentity) -> Bool {
        WildcardPattern.anyMatches(boundNames, account.name) && WildcardPattern.anyMatches(boundNamespaces, account.namespace)
    }

    /// The identity a login is known by (and its leases counted by).
    func identity(of account: ServiceAccountIdentity) -> String {
        switch aliasNameSource {
        case .serviceAccountUID: account.uid
        case .serviceAccountName: "\(account.namespace)/\(account.name)"
        }
    }

    /// The fields of a role read.
    var json: [String: JSONValue] {
        var fields = token.json
        fields["bound_service_account_names"] = .strings(boundNames)
        fields["bound_service_account_namespaces"] = .strings(boundNamespaces)
        fields["bound_service_account_namespace_selector"] = ""
        fields["audience"] = .string(audience)
        fields["alias_name_source"] = .string(aliasNameSource.rawValue)
        return fields
    }
}
