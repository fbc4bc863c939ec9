import Foundation
import LeaseholdCore

/// A stored connection (`<mount>config/:name`): the engine settings plus the broker-side policy for it.
public struct DatabaseConnection: Sendable, Codable, Hashable {
    /// The connection name.
    public var name: String
    /// What the engine needs to connect.
    public var settings: DatabaseConnectionSettings
    /// Role names (globs allowed) that may use this connection; empty means none, `*` means all.
    public var allowedRoles: [String]
    /// A username template (see ``CredentialGenerator``); empty means the default.
    public var usernameTemplate: String
    /// The password policy name; empty means the default (32 characters, no quotes or backslashes).
    public var passwordPolicy: String
    /// Statements for `rotate-root` (empty: `ALTER ROLE … PASSWORD`).
    public var rootRotationStatements: [String]
    /// The environment this connection belongs to.
    public var environment: String
    /// Set when the connection was deleted while leases still used it: hidden, unusable for new credentials,
    /// kept only so those leases can still be revoked.
    public var retired: Bool
    /// A root password being rotated in: recorded before the target changes, promoted once verified.
    public var pendingRootPassword: SecretValue?

    /// Whether `role` may use this connection.
    public func allows(role: String) -> Bool {
        WildcardPattern.anyMatches(allowedRoles, role)
    }

    /// The `data` of a config read: never the password or private key.
    public var json: [String: JSONValue] {
        [
            "plugin_name": .string(settings.pluginName), "plugin_version": "",
            "allowed_roles": .strings(allowedRoles),
            "connection_details": .object([
                "connection_url": .string(Self.redacted(settings.connectionURL)),
                "username": .string(settings.username),
                "password_authentication": .string(settings.passwordAuthentication),
                "max_open_connections": .int(settings.maxOpenConnections),
                "tls_ca": settings.tlsCA.map(JSONValue.string) ?? .null,
                "tls_certificate": settings.tlsCertificate.map(JSONValue.string) ?? .null,
            ]),
            "password_policy": .string(passwordPolicy), "username_template": .string(usernameTemplate),
            "root_credentials_rotate_statements": .strings(rootRotationStatements),
            "environment": .string(environment), "verify_connection": true,
        ]
    }

    /// The URL with any literal password replaced, as Vault's `url.Redacted()` does, in the user information and
    /// in `password` or `sslpassword` parameters; anything that is not a URL with a scheme and a host (a libpq
    /// keyword string) is not shown at all.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.scheme != nil, components.host != nil else {
            return "<redacted>"
        }
        if let password = components.password, !password.isEmpty, password != "{{password}}" {
            components.password = "xxxxx"
        }
        components.queryItems = components.queryItems?.map { item in
            ["password", "sslpassword"].contains(item.name.lowercased()) ? URLQueryItem(name: item.name, value: "xxxxx") : item
        }
        return components.string ?? "<redacted>"
    }
}

extension DatabaseConnection {
    /// The audit row of a step of a request on connection `name` that commits on its own, before the request's
    /// own row (a pending root password, a connection retired before it is deleted).
    static func stepEvent(_ type: String, _ name: String, _ context: OperationContext) -> AuditEvent {
        AuditEvent(
            time: context.now, requestID: context.request.requestID, type: type, operation: context.request.operation.rawValue,
            path: context.request.path,
            actor: AuditRecorder.actor(for: context.caller?.value, token: nil, hasher: context.services.keys.auditHasher),
            remoteAddress: context.request.remoteAddress, outcome: "allowed",
            environment: context.caller?.value.environment ?? "default", details: ["connection": name])
    }
}
