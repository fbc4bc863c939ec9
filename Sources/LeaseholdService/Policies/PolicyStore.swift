import Foundation
import LeaseholdCore
import LeaseholdPolicy

/// A policy as stored.
public struct StoredPolicy: Sendable, Codable, Hashable {
    /// The normalized name.
    public var name: String
    /// The policy text exactly as written (HCL or JSON).
    public var text: String
}

/// Reads and writes ACL policies, and builds the ACL of a set of policy names with a parse cache.
public struct PolicyStore: Sendable {
    let store: EncryptedStore
    let cache: PolicyCache

    /// The policies every installation has and that cannot be deleted.
    public static let builtInNames: Set<String> = ["root", "default"]

    /// The internal policy of response-wrapping tokens.
    static let responseWrapping: ACLPolicy = {
        // The text is a constant written in this file; parsing it cannot fail.
        try! ACLPolicy.parse(
            name: "response-wrapping",
            text: """
                path "sys/wrapping/unwrap" { capabilities = ["update"] }
                path "sys/wrapping/lookup" { capabilities = ["update", "read"] }
                path "sys/wrapping/rewrap" { capabilities = ["update"] }
                """)
    }()

    init(store: EncryptedStore, cache: PolicyCache) {
        self.store = store
        self.cache = cache
    }

    /// The policy with `name`, including the built-in `default` when it was never overwritten.
    public func policy(named name: String) async throws -> StoredPolicy? {
        if let stored = try await store.read(StoredPolicy.self, at: StoreKey(.policies, name)) { return stored.value }
        if name == "default" { return StoredPolicy(name: "default", text: ACLPolicy.defaultPolicyText) }
        return nil
    }

    /// All policy names, including the built-ins, sorted.
    public func names() async throws -> [String] {
        let stored = try await store.base.allKeys(in: .policies)
        return Set(stored).union(Self.builtInNames).sorted()
    }

    /// Validates and stages a policy write.
    public func write(name rawName: String, text: String, in transaction: StoreTransaction) throws {
        let name = try ACLPolicy.validateName(rawName)
        guard text.utf8.count <= 1_048_576 else { throw LeaseholdError.invalidRequest("policy is too large") }
        _ = try ACLPolicy.parse(name: name, text: text)
        try transaction.put(StoredPolicy(name: name, text: text), at: StoreKey(.policies, name))
    }

    /// Stages a policy deletion; built-in policies cannot be deleted.
    public func delete(name: String, in transaction: StoreTransaction) throws {
        let normalized = ACLPolicy.normalizeName(name)
        if Self.builtInNames.contains(normalized) {
            throw LeaseholdError.invalidRequest("cannot delete \"\(normalized)\" policy")
        }
        transaction.delete(StoreKey(.policies, normalized))
    }

    /// The ACL granted by a set of policy names. Unknown names grant nothing.
    public func acl(for names: [String], kind: String = "service") async throws -> ACL {
        if kind == "wrapping" { return ACL(policies: [Self.responseWrapping]) }
        if names.contains("root") { return .root }
        var policies: [ACLPolicy] = []
        for name in names {
            if let parsed = try await parsedPolicy(named: name) { policies.append(parsed) }
        }
        return ACL(policies: policies)
    }

    private func parsedPolicy(named name: String) async throws -> ACLPolicy? {
        let key = StoreKey(.policies, name)
        guard let entry = try await store.base.entry(key) else {
            return name == "default" ? cache.builtInDefault : nil
        }
        if let cached = await cache.policy(named: name, ciphertext: entry.value) { return cached }
        let stored = try await store.open(StoredPolicy.self, from: entry, at: key)
        let parsed = try ACLPolicy.parse(name: name, text: stored.value.text)
        await cache.store(parsed, named: name, ciphertext: entry.value)
        return parsed
    }
}

/// Parsed policies by name, each with the exact stored ciphertext it was parsed from, so a request does not
/// re-parse unchanged policies. Not the version: a policy deleted and written again starts over at version 1, and
/// another instance sharing the store may have written it; every write has a fresh nonce, hence new ciphertext.
actor PolicyCache {
    private var entries: [String: (ciphertext: Data, policy: ACLPolicy)] = [:]
    let builtInDefault: ACLPolicy

    init() {
        builtInDefault = ACLPolicy.defaultPolicy
    }

    func policy(named name: String, ciphertext: Data) -> ACLPolicy? {
        guard let entry = entries[name], entry.ciphertext == ciphertext else { return nil }
        return entry.policy
    }

    func store(_ policy: ACLPolicy, named name: String, ciphertext: Data) {
        if entries.count > 10_000 { entries.removeAll() }
        entries[name] = (ciphertext, policy)
    }
}
