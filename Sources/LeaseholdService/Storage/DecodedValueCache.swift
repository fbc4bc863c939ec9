import Foundation
import LeaseholdCore

/// Decoded values of configuration-like entries (mounts, roles, connections, policies, tokens, …), remembered with
/// the exact ciphertext they came from.
///
/// Every read still fetches the current row from the store; the cache only spares the decryption and the JSON
/// decoding when the stored ciphertext is byte for byte the one decoded before (AES-GCM with a fresh nonce per
/// write: any write, by this broker or another instance on the same store, changes it). A hit is therefore exactly
/// what decoding would give. The cache lives with the unsealed keys (``UnsealedKeys``), shared by every request;
/// sealing or rotating the key ring drops it.
final class DecodedValueCache: Sendable {
    /// One ciphertext's decodings, by the type they were decoded as (a role is read whole by its logins and as its
    /// token settings alone by renewals: neither evicts the other).
    private struct Entry: Sendable {
        var ciphertext: Data
        var values: [ObjectIdentifier: any Sendable]
    }

    /// The namespaces worth caching: read on most requests, written rarely, few entries.
    static let cachedNamespaces: Set<StoreNamespace> = [
        .mounts, .authMounts, .policies, .tokens, .databaseConnections, .databaseRoles, .appRoles, .appRoleIDs,
        .appRoleSecretIDs, .userpassUsers, .certRoles, .certRevocationLists, .jwtConfigs, .jwtRoles, .kubernetesConfigs,
        .kubernetesRoles,
    ]

    /// At most 4,096 values are kept; when full, the cache starts over (a broker with more live tokens than that
    /// simply decodes more often).
    private let entries = BoundedCache<StoreKey, Entry>(capacity: 4096)

    /// The value decoded from `ciphertext` at `key`, if it was cached as a `Value`.
    func value<Value>(_ type: Value.Type, at key: StoreKey, ciphertext: Data) -> Value? {
        guard Self.cachedNamespaces.contains(key.namespace), let entry = entries.value(for: key),
            entry.ciphertext == ciphertext
        else { return nil }
        return entry.values[ObjectIdentifier(Value.self)] as? Value
    }

    /// Remembers `value` as the decoding of `ciphertext` at `key` (next to other types' decodings of the same
    /// ciphertext; a new ciphertext replaces them all).
    func remember<Value: Sendable>(_ value: Value, at key: StoreKey, ciphertext: Data) {
        guard Self.cachedNamespaces.contains(key.namespace) else { return }
        var entry = entries.value(for: key).flatMap { $0.ciphertext == ciphertext ? $0 : nil }
            ?? Entry(ciphertext: ciphertext, values: [:])
        entry.values[ObjectIdentifier(Value.self)] = value
        entries.remember(entry, for: key)
    }
}
