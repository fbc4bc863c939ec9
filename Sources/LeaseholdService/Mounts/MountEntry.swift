import Foundation
import LeaseholdCore
import LeaseholdSeal

/// A mounted secrets engine or auth method.
public struct MountEntry: Sendable, Codable, Hashable {
    /// The mount path with a trailing slash (`database/`, or `approle/` under `auth/`).
    public var path: String
    /// The engine or method type.
    public var type: String
    /// Free text.
    public var description: String
    /// A non-secret unique handle (`database_1a2b3c4d`).
    public var accessor: String
    /// A random id.
    public var uuid: String
    /// Per-mount default lease TTL (seconds; 0 = the system default).
    public var defaultLeaseTTL: Int64
    /// Per-mount maximum lease TTL (seconds; 0 = the system maximum).
    public var maxLeaseTTL: Int64
    /// Engine options.
    public var options: [String: String]
    /// Whether the mount is local to this node (kept for API compatibility).
    public var local: Bool
    /// Whether seal wrapping was asked for (every value is encrypted anyway).
    public var sealWrap: Bool
    /// The environment the mount belongs to.
    public var environment: String
    /// `listing_visibility` (`unauth` or `hidden`/empty).
    public var listingVisibility: String

    /// Makes a new entry with fresh ids.
    public static func make(path: String, type: String, description: String) -> MountEntry {
        MountEntry(
            path: path, type: type, description: description,
            accessor: "\(type)_" + String(SecureRandom.uuid().prefix(8)), uuid: SecureRandom.uuid(),
            defaultLeaseTTL: 0, maxLeaseTTL: 0, options: [:], local: false, sealWrap: false,
            environment: "default", listingVisibility: "")
    }

    /// The wire form used by `sys/mounts` and `sys/auth`.
    public var json: JSONValue {
        .object([
            "accessor": .string(accessor),
            "config": .object([
                "default_lease_ttl": .int(Int(defaultLeaseTTL)), "max_lease_ttl": .int(Int(maxLeaseTTL)),
                "force_no_cache": false, "token_type": type == "token" ? "default-service" : .null,
                "listing_visibility": listingVisibility.isEmpty ? .null : .string(listingVisibility),
            ]),
            "deprecation_status": "supported", "description": .string(description),
            "external_entropy_access": false, "local": .bool(local),
            "options": options.isEmpty ? .null : .object(options.mapValues(JSONValue.string)),
            "plugin_version": "", "running_plugin_version": "builtin", "running_sha256": "",
            "seal_wrap": .bool(sealWrap), "type": .string(type), "uuid": .string(uuid),
            "environment": .string(environment),
        ])
    }
}
