import Foundation
import LeaseholdCore

/// A stored token. The token itself is never stored: the entry lives under the keyed hash of the token.
public struct TokenEntry: Sendable, Codable, Hashable {
    /// The keyed hash of the token (the store key).
    public var hash: String
    /// The non-secret handle used to look up or revoke the token without knowing it.
    public var accessor: String
    /// Attached policies, sorted.
    public var policies: [String]
    /// Free-form metadata.
    public var meta: [String: String]
    /// A name for humans.
    public var displayName: String
    /// The keyed hash of the parent token; `nil` for orphans.
    public var parentHash: String?
    /// The path that created the token, e.g. `auth/token/create`.
    public var path: String
    /// When the token was created.
    public var creationTime: Date
    /// The TTL granted at creation, in seconds (0 for root tokens without expiry).
    public var creationTTL: Int64
    /// The hard cap on the token's life, in seconds from creation (0 = none beyond the system maximum).
    public var explicitMaxTTL: Int64
    /// Periodic tokens renew to this period and have no max beyond `explicitMaxTTL`.
    public var period: Int64
    /// Remaining uses; 0 means unlimited.
    public var numUses: Int
    /// Whether the request using this token now is its last use, whose commit revokes it (with its leases).
    public var isOnLastUse: Bool { kind == "service" && numUses == 1 }
    /// Whether renewal is allowed.
    public var renewable: Bool
    /// When the token expires; `nil` for non-expiring root tokens.
    public var expireTime: Date?
    /// The last renewal.
    public var lastRenewalTime: Date?
    /// The token role used to create it, if any.
    public var role: String?
    /// The auth method that issued it.
    public var authMethod: String
    /// The environment the identity belongs to.
    public var environment: String
    /// `service` for normal tokens, `wrapping` for single-use response-wrapping tokens, `direct` for the
    /// transient identity of a direct-mTLS request (never stored).
    public var kind: String
    /// For tokens from a cert login: the SHA-256 fingerprint of that certificate; renewals must present it.
    public var boundCertificateFingerprint: String? = nil
    /// CIDR blocks the token may be used from (`token_bound_cidrs` of the role that issued it); `nil` or empty:
    /// anywhere.
    public var boundCIDRs: [String]? = nil
    /// For a login token, the role, user or certificate entry it logged in with: renewal checks it still exists
    /// with the same policies (and, for a certificate, still accepts it), as Vault's auth methods do.
    public var loginSource: LoginSource? = nil

    /// Whether the token may be used from `address` (`ip:port`).
    public func isUsable(from address: String) -> Bool {
        CIDRBlock.allows(boundCIDRs ?? [], address)
    }

    /// Whether the token has expired at `now`.
    public func isExpired(at now: Date) -> Bool {
        guard let expireTime else { return false }
        return expireTime <= now
    }

    /// Remaining seconds at `now` (0 for non-expiring tokens, as Vault reports).
    public func remainingSeconds(at now: Date) -> Int64 {
        guard let expireTime else { return 0 }
        return max(0, Int64(expireTime.timeIntervalSince(now).rounded(.down)))
    }

    /// Whether this is a root token (has the `root` policy).
    public var isRoot: Bool { policies.contains("root") }

    /// Whether this is an orphan.
    public var isOrphan: Bool { parentHash == nil }

    /// The `data` of `auth/token/lookup*`; `id` is the token when the caller presented it, else "".
    public func lookupData(id: String, now: Date) -> [String: JSONValue] {
        [
            "accessor": .string(accessor), "creation_time": .int(Int(creationTime.timeIntervalSince1970)),
            "creation_ttl": .int(Int(creationTTL)), "display_name": .string(displayName), "entity_id": "",
            "expire_time": expireTime.map { .string(ISO8601DateFormatter.fractional.string(from: $0)) } ?? .null,
            "explicit_max_ttl": .int(Int(explicitMaxTTL)), "id": .string(id),
            "issue_time": .string(ISO8601DateFormatter.fractional.string(from: creationTime)),
            "last_renewal_time": lastRenewalTime.map { .int(Int($0.timeIntervalSince1970)) } ?? .null,
            "meta": meta.isEmpty ? .null : .object(meta.mapValues(JSONValue.string)),
            "num_uses": .int(numUses), "orphan": .bool(isOrphan), "path": .string(path),
            "period": period > 0 ? .int(Int(period)) : .null, "policies": .strings(policies),
            "renewable": .bool(renewable), "ttl": .int(Int(remainingSeconds(at: now))),
            "type": "service", "role": role.map(JSONValue.string) ?? .null,
            "environment": .string(environment),
        ]
    }
}

extension ISO8601DateFormatter {
    /// RFC 3339 with fractional seconds, in UTC.
    static var fractional: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

/// Where a login token's role, user or certificate entry is stored.
public struct LoginSource: Sendable, Codable, Hashable {
    /// The store namespace of the entry.
    public var namespace: String
    /// The auth mount's path (`approle/`).
    public var mountPath: String
    /// The entry's name within the mount, as stored.
    public var name: String

    /// Where the entry is stored.
    var key: StoreKey { StoreKey(StoreNamespace(rawValue: namespace), mountPath + name) }
}
