import Foundation
import LeaseholdCore
import LeaseholdSeal

/// Typed, encrypted access to the broker's store.
///
/// Every value is JSON, sealed with AES-256-GCM under the active key term, with the entry's address
/// (`namespace/key`) as associated data: a ciphertext moved to another row, or altered, fails to decrypt and the
/// read fails closed.
public struct EncryptedStore: Sendable {
    /// The underlying store.
    public let base: any BrokerStore
    let keyRing: KeyRing
    private let decoded: DecodedValueCache
    private let newerKeyRing: (@Sendable (Data) async throws -> KeyRing?)?
    /// Counts encryptions for the data key's rotation (see ``DataKeyUsage``).
    private let usage: DataKeyUsage?

    /// Creates the view over `base` with the unsealed key ring (and a cache of its own).
    public init(base: any BrokerStore, keyRing: KeyRing) {
        self.init(base: base, keyRing: keyRing, decodedValues: DecodedValueCache())
    }

    /// Creates the view with the cache that lives as long as the unsealed keys, shared by every request.
    /// `newerKeyRing` is asked for a ring that can decrypt a value encrypted under a term this one lacks (another
    /// instance sharing the store rotated the data key).
    init(
        base: any BrokerStore, keyRing: KeyRing, decodedValues: DecodedValueCache,
        newerKeyRing: (@Sendable (Data) async throws -> KeyRing?)? = nil, usage: DataKeyUsage? = nil
    ) {
        self.usage = usage
        self.base = base
        self.keyRing = keyRing
        self.decoded = decodedValues
        self.newerKeyRing = newerKeyRing
    }

    /// Reads and decrypts an entry, returning the value with its version.
    public func read<Value: Decodable & Sendable>(_ type: Value.Type, at key: StoreKey) async throws -> Versioned<Value>? {
        guard let entry = try await base.entry(key) else { return nil }
        return try await open(Value.self, from: entry, at: key)
    }

    /// Decrypts and decodes `entry`, already read from `key`.
    func open<Value: Decodable & Sendable>(
        _ type: Value.Type, from entry: StoreEntry, at key: StoreKey
    ) async throws -> Versioned<Value> {
        if let value = decoded.value(Value.self, at: key, ciphertext: entry.value) {
            return Versioned(value: value, version: entry.version)
        }
        var ring = keyRing
        if !ring.hasKey(for: entry.value), let newer = try await newerKeyRing?(entry.value) { ring = newer }
        let plaintext = try ring.decrypt(entry.value, associatedData: Data(key.description.utf8))
        let value: Value
        do {
            value = try JSONDecoder.store.decode(Value.self, from: plaintext)
        } catch {
            throw LeaseholdError(.internalError, "stored value of \(key.namespace) is malformed")
        }
        decoded.remember(value, at: key, ciphertext: entry.value)
        return Versioned(value: value, version: entry.version)
    }

    /// Encrypts a value for `key`.
    public func seal(_ value: some Encodable, for key: StoreKey) throws -> Data {
        usage?.recordEncryption()
        return try keyRing.encrypt(try SortedJSONEncoder.store.encode(value), associatedData: Data(key.description.utf8))
    }
}

/// A value read from the store with the version it had.
public struct Versioned<Value>: Sendable where Value: Sendable {
    /// The value.
    public var value: Value
    /// The store version, for conditional writes.
    public var version: Int64
}

extension SortedJSONEncoder {
    /// The encoder for stored values: stable key order, dates as seconds since 1970.
    static let store = SortedJSONEncoder(escapesSlashes: true, dateEncoding: .secondsSince1970)
}

extension JSONDecoder {
    /// The decoder for stored values.
    static let store: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()
}
