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
    /// Parsed policies, each remembered with the exact ciphertext it was parsed from: not the version, since a
    /// policy deleted and written again starts over at version 1 (here or on another instance sharing the store).
    let parsed: DecodedValueCache

    /// The policies every installation has and that cannot be deleted.
    public static let builtInNames: Set<String> = ["root", "default"]

    /// The built-in `default` policy, parsed once, for when it was never overwritten.
    static let builtInDefault = ACLPolicy.defaultPolicy

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

    init(store: EncryptedStore, parsed: DecodedValueCache) {
        self.store = store
        self.parsed = parsed
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
            return name == "default" ? Self.builtInDefault : nil
        }
        if let cached = parsed.value(ACLPolicy.self, at: key, ciphertext: entry.value) { return cached }
        let stored = try await store.open(StoredPolicy.self, from: entry, at: key)
        let policy = try ACLPolicy.parse(name: name, text: stored.value.text)
        parsed.remember(policy, at: key, ciphertext: entry.value)
        return policy
    }
}
