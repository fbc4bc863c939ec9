import Foundation
import LeaseholdCore
import LeaseholdSeal
@testable import LeaseholdService
import LeaseholdStoreSQLite
import Logging
import Testing

/// The decoded-value cache behind ``EncryptedStore/read(_:at:)`` must never answer with anything but what
/// decrypting and decoding the current row would give.
@Suite("Decoded value cache")
struct DecodedValueCacheTests {
    let key = StoreKey(.policies, "app")

    func write(_ value: String, with store: EncryptedStore, condition: StoreCondition = .none) async throws {
        try await store.base.commit(StoreBatch(operations: [.put(key, try store.seal(value, for: key), condition)]))
    }

    @Test func everyReadSeesTheCurrentRow() async throws {
        let base = try await SQLiteBrokerStore.temporary(logger: Logger(label: "test"))
        let keys = KeyRing.generate()
        let mine = EncryptedStore(base: base, keyRing: keys)
        let other = EncryptedStore(base: base, keyRing: keys)  // another broker instance on the same store
        try await write("first", with: mine)
        #expect(try await mine.read(String.self, at: key)?.value == "first")
        #expect(try await mine.read(String.self, at: key)?.value == "first")
        try await write("second", with: other)
        #expect(try await mine.read(String.self, at: key)?.value == "second")
        // Deleted and written again: the version starts over at 1, the ciphertext does not repeat.
        try await base.commit(StoreBatch(operations: [.delete(key, .none)]))
        #expect(try await mine.read(String.self, at: key) == nil)
        try await write("third", with: other)
        let third = try await mine.read(String.self, at: key)
        #expect(third?.value == "third" && third?.version == 1)
        try await base.close()
    }

    /// A read remembers what it decoded under the row's exact ciphertext, in the cache it was given (the one that
    /// lives with the unsealed keys), and only for the namespaces worth caching.
    @Test func aReadRemembersItsValueUnderTheExactCiphertext() async throws {
        let base = try await SQLiteBrokerStore.temporary(logger: Logger(label: "test"))
        let cache = DecodedValueCache()
        let store = EncryptedStore(base: base, keyRing: KeyRing.generate(), decodedValues: cache)
        try await write("remembered", with: store)
        let row = try #require(try await base.entry(key)).value
        #expect(cache.value(String.self, at: key, ciphertext: row) == nil)
        #expect(try await store.read(String.self, at: key)?.value == "remembered")
        #expect(cache.value(String.self, at: key, ciphertext: row) == "remembered")
        #expect(cache.value(String.self, at: key, ciphertext: row + Data([0])) == nil, "another ciphertext misses")
        // The same row read as another type (a role read whole by logins, as its token settings by renewals) is
        // remembered beside it, not instead of it.
        #expect(try await store.read(JSONValue.self, at: key)?.value == "remembered")
        #expect(cache.value(String.self, at: key, ciphertext: row) == "remembered")
        #expect(cache.value(JSONValue.self, at: key, ciphertext: row) == "remembered")
        try await write("rewritten", with: store)
        let newRow = try #require(try await base.entry(key)).value
        _ = try await store.read(String.self, at: key)
        #expect(cache.value(JSONValue.self, at: key, ciphertext: newRow) == nil, "a new ciphertext drops every old decoding")

        let lease = StoreKey(.leases, "database/creds/x/1")
        try await base.commit(StoreBatch(operations: [.put(lease, try store.seal("lease", for: lease), .none)]))
        _ = try await store.read(String.self, at: lease)
        let leaseRow = try #require(try await base.entry(lease)).value
        #expect(cache.value(String.self, at: lease, ciphertext: leaseRow) == nil, "leases are not cached")
        try await base.close()
    }

    @Test func alteredOrMovedCiphertextsStillFailClosedAfterACachedRead() async throws {
        let base = try await SQLiteBrokerStore.temporary(logger: Logger(label: "test"))
        let store = EncryptedStore(base: base, keyRing: KeyRing.generate())
        try await write("cached", with: store)
        #expect(try await store.read(String.self, at: key)?.value == "cached")
        var altered = try #require(try await base.entry(key)).value
        altered[altered.count - 1] ^= 0x01
        try await base.commit(StoreBatch(operations: [.put(key, altered, .none)]))
        await #expect(throws: LeaseholdError.self) { _ = try await store.read(String.self, at: key) }

        let elsewhere = StoreKey(.policies, "other")
        try await base.commit(StoreBatch(operations: [.put(elsewhere, try store.seal("other", for: elsewhere), .none)]))
        try await write("cached again", with: store)
        #expect(try await store.read(String.self, at: key)?.value == "cached again")
        let moved = try #require(try await base.entry(elsewhere)).value
        try await base.commit(StoreBatch(operations: [.put(key, moved, .none)]))
        await #expect(throws: LeaseholdError.self) { _ = try await store.read(String.self, at: key) }
        try await base.close()
    }
}
