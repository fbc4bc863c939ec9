import Foundation
import LeaseholdCore

/// The `auth` block of a response: a newly issued or renewed token.
public struct AuthBlock: Sendable, Hashable {
    /// The token. Present only in the one response that hands it out.
    public var clientToken: SecretValue
    /// The token's accessor.
    public var accessor: String
    /// All policies.
    public var policies: [String]
    /// Token metadata.
    public var metadata: [String: String]
    /// Remaining time in seconds.
    public var leaseDuration: Int64
    /// Whether the token can be renewed.
    public var renewable: Bool
    /// Whether the token has no parent.
    public var orphan: Bool
    /// Remaining uses (0 = unlimited).
    public var numUses: Int
    /// The token type (`service`).
    public var tokenType: String

    /// Creates an auth block.
    public init(
        clientToken: SecretValue, accessor: String, policies: [String], metadata: [String: String],
        leaseDuration: Int64, renewable: Bool, orphan: Bool, numUses: Int, tokenType: String = "service"
    ) {
        self.clientToken = clientToken
        self.accessor = accessor
        self.policies = policies
        self.metadata = metadata
        self.leaseDuration = leaseDuration
        self.renewable = renewable
        self.orphan = orphan
        self.numUses = numUses
        self.tokenType = tokenType
    }

    /// The wire form.
    public var json: JSONValue {
        .object([
            "client_token": .string(clientToken.revealed), "accessor": .string(accessor),
            "policies": .strings(policies), "token_policies": .strings(policies),
            "metadata": metadata.isEmpty ? .null : .object(metadata.mapValues(JSONValue.string)),
            "lease_duration": .int(Int(leaseDuration)), "renewable": .bool(renewable), "entity_id": "",
            "token_type": .string(tokenType), "orphan": .bool(orphan), "mfa_requirement": .null,
            "num_uses": .int(numUses),
        ])
    }
}

/// The `wrap_info` block of a wrapped response.
public struct WrapInfo: Sendable, Hashable {
    /// The single-use wrapping token.
    public var token: SecretValue
    /// Its accessor.
    public var accessor: String
    /// Its TTL in seconds.
    public var ttl: Int64
    /// When it was created.
    public var creationTime: Date
    /// The path whose response it wraps.
    public var creationPath: String
    /// The accessor of a wrapped token, if the wrapped response created one.
    public var wrappedAccessor: String?

    /// The wire form.
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "token": .string(token.revealed), "accessor": .string(accessor), "ttl": .int(Int(ttl)),
            "creation_time": .string(ISO8601DateFormatter().string(from: creationTime)),
            "creation_path": .string(creationPath),
        ]
        if let wrappedAccessor { members["wrapped_accessor"] = .string(wrappedAccessor) }
        return .object(members)
    }
}

/// What a backend answers. The HTTP layer renders it in Vault's envelope.
public struct LogicalResponse: Sendable {
    /// How the body is shaped on the wire.
    public enum Shape: Sendable, Hashable {
        /// The standard envelope (`request_id`, `data`, `auth`, …).
        case envelope
        /// The envelope, with `data`'s members duplicated at the top level (legacy `sys/mounts`, `sys/policy`, …).
        case envelopeWithTopLevelData
        /// Bare JSON with no envelope (`sys/init`, `sys/health`, …).
        case raw
        /// The metrics registry in Prometheus text format, rendered by the HTTP layer (`sys/metrics`).
        case metrics
    }

    /// The `data` object.
    public var data: [String: JSONValue]?
    /// The `auth` block.
    public var auth: AuthBlock?
    /// Warnings for the caller.
    public var warnings: [String]
    /// Lease information for secrets.
    public var leaseID: String
    /// Lease duration in seconds.
    public var leaseDuration: Int64
    /// Whether the lease is renewable.
    public var renewable: Bool
    /// Set when the response was wrapped.
    public var wrapInfo: WrapInfo?
    /// The body shape.
    public var shape: Shape
    /// An explicit status (e.g. 202, or health codes); otherwise 200 with a body or 204 without.
    public var status: Int?

    /// Creates a response.
    public init(
        data: [String: JSONValue]? = nil, auth: AuthBlock? = nil, warnings: [String] = [], leaseID: String = "",
        leaseDuration: Int64 = 0, renewable: Bool = false, wrapInfo: WrapInfo? = nil, shape: Shape = .envelope,
        status: Int? = nil
    ) {
        self.data = data
        self.auth = auth
        self.warnings = warnings
        self.leaseID = leaseID
        self.leaseDuration = leaseDuration
        self.renewable = renewable
        self.wrapInfo = wrapInfo
        self.shape = shape
        self.status = status
    }

    /// A write that returns nothing (HTTP 204).
    public static let noContent = LogicalResponse()

    /// Whether the response carries nothing to render (HTTP 204).
    public var isEmpty: Bool {
        data == nil && auth == nil && warnings.isEmpty && wrapInfo == nil && leaseID.isEmpty && shape != .raw
    }

    /// A bare JSON response with a status code.
    public static func raw(_ body: [String: JSONValue], status: Int = 200) -> LogicalResponse {
        LogicalResponse(data: body, shape: .raw, status: status)
    }
}
