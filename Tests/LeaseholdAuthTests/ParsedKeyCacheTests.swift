import Crypto
import LeaseholdAuth
import Testing

@Suite("Parsed key cache")
struct ParsedKeyCacheTests {
    @Test func unparsableKeysAreSkippedAndParsedOnesKeepTheirOrder() throws {
        let first = P256.Signing.PrivateKey().publicKey.pemRepresentation
        let second = P384.Signing.PrivateKey().publicKey.pemRepresentation
        let cache = ParsedKeyCache()
        let keys = cache.keys(for: [first, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", second])
        #expect(keys.count == 2)
        #expect(keys.first?.accepts(SignatureAlgorithm.es256) == true && keys.last?.accepts(SignatureAlgorithm.es384) == true)
        // Only what parsed is kept, and a second lookup answers from the cache with the same keys.
        #expect(cache.count == 2)
        #expect(cache.keys(for: [second, first]).map { $0.accepts(SignatureAlgorithm.es384) } == [true, false])
        #expect(cache.count == 2)
    }
}
