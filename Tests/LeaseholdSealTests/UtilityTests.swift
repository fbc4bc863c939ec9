import Crypto
import Foundation
import LeaseholdCore
import Testing

@testable import LeaseholdSeal

@Suite struct ConstantTimeTests {
    @Test func comparesBytes() {
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [0, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([UInt8](), [0] as [UInt8]))
        #expect(!ConstantTime.equals([0] as [UInt8], [UInt8]()))
        #expect(ConstantTime.equals(Data([7, 8]), [7, 8] as [UInt8]))
        #expect(!ConstantTime.equals(Data([7, 8]), Data([7, 9])))
        // Lengths whose difference is a multiple of 256 must still compare unequal.
        #expect(!ConstantTime.equals([UInt8](repeating: 0, count: 256), [UInt8](repeating: 0, count: 512)))
    }

    @Test func comparesEveryBitPosition() {
        let base = SecureRandom.bytes(64)
        for index in base.indices {
            for bit in 0..<8 {
                var other = base
                other[index] ^= 1 << bit
                #expect(!ConstantTime.equals(base, other))
            }
        }
        #expect(ConstantTime.equals(base, Array(base)))
    }

    @Test func comparesStringsByUTF8() {
        #expect(ConstantTime.equals("s.abc", "s.abc"))
        #expect(!ConstantTime.equals("s.abc", "s.abd"))
        #expect(!ConstantTime.equals("s.abc", "s.ab"))
        #expect(!ConstantTime.equals("", "x"))
        #expect(ConstantTime.equals("", ""))
        // Canonically equivalent but differently encoded strings are different secrets.
        #expect(!ConstantTime.equals("\u{E9}", "e\u{301}"))
    }
}

@Suite struct SecureRandomTests {
    @Test func bytesHaveTheRequestedLength() {
        for count in [0, 1, 7, 8, 9, 32, 1000] {
            #expect(SecureRandom.bytes(count).count == count)
        }
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
        // Every byte value shows up in a large sample (the fill covers all 8 bytes of each word).
        #expect(Set(SecureRandom.bytes(100_000)).count == 256)
    }

    @Test func stringsUseOnlyTheAlphabet() {
        let alphabet: [Character] = ["a", "b", "c"]
        let text = SecureRandom.string(length: 3000, alphabet: alphabet)
        #expect(text.count == 3000)
        #expect(Set(text) == Set(alphabet))
        #expect(SecureRandom.string(length: 0, alphabet: alphabet).isEmpty)
        #expect(SecureRandom.string(length: 5, alphabet: ["é"]) == "ééééé")
    }

    /// 256 is not a multiple of 62: taking every byte modulo 62 would make the first eight characters a quarter
    /// more likely than the others.
    @Test func base62StringsAreUnbiased() {
        var counts: [Character: Int] = [:]
        for character in SecureRandom.string(length: 620_000, alphabet: SecureRandom.base62Alphabet) {
            counts[character, default: 0] += 1
        }
        #expect(counts.count == 62)
        let low = counts.values.min() ?? 0
        let high = counts.values.max() ?? 0
        // Each expected 10,000 ± 100 (one standard deviation); the bias would give 12,300 against 9,800.
        #expect(Double(high) / Double(max(low, 1)) < 1.1, "\(low)…\(high)")
    }

    @Test func selectionIsRoughlyUniform() {
        // 3 does not divide 2^64, so a modulo-only draw would be biased; counts stay near 1/3 each.
        var generator = SystemRandomNumberGenerator()
        var counts = [0, 0, 0]
        for _ in 0..<30_000 {
            counts[SecureRandom.uniformIndex(below: 3, using: &generator)] += 1
        }
        #expect(counts.allSatisfy { (9_000...11_000).contains($0) }, "\(counts)")
    }

    @Test func rejectsDrawsBelowTheLimit() {
        /// Yields the given values in order.
        struct ScriptedGenerator: RandomNumberGenerator {
            var values: [UInt64]
            mutating func next() -> UInt64 { values.removeFirst() }
        }
        // For bound 3, 2^64 mod 3 = 1, so a draw of 0 is rejected and the next draw (5) gives 5 % 3 = 2.
        var generator = ScriptedGenerator(values: [0, 5])
        #expect(SecureRandom.uniformIndex(below: 3, using: &generator) == 2)
        #expect(generator.values.isEmpty)
    }

    @Test func tokensAccessorsAndUUIDs() {
        let base62 = Set(SecureRandom.base62Alphabet)
        #expect(base62.count == 62)

        let token = SecureRandom.token(prefix: "s.")
        #expect(token.hasPrefix("s."))
        #expect(token.count == 34)
        #expect(token.dropFirst(2).allSatisfy(base62.contains))
        #expect(SecureRandom.token(prefix: "s.") != token)

        let accessor = SecureRandom.accessor()
        #expect(accessor.count == 24)
        #expect(accessor.allSatisfy(base62.contains))

        let uuid = SecureRandom.uuid()
        #expect(uuid.count == 36)
        #expect(uuid == uuid.lowercased())
        let parsed = UUID(uuidString: uuid)
        #expect(parsed != nil)
        let groups = uuid.split(separator: "-")
        #expect(groups.map(\.count) == [8, 4, 4, 4, 12])
        #expect(groups[2].first == "4")
        #expect(["8", "9", "a", "b"].contains(groups[3].first))
        #expect(SecureRandom.uuid() != uuid)
    }

    @Test func hexTextCoversEveryByteAndRoundTrips() {
        let every = Data(0...255)
        #expect(every.hexString == every.map { String(format: "%02x", $0) }.joined())
        #expect(Data(hexString: every.hexString) == every)
        #expect([UInt8]().hexString.isEmpty)
    }
}

@Suite struct KeyedHasherTests {
    @Test func matchesRFC4231TestCase2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        let hasher = KeyedHasher(key: SymmetricKey(data: Data("Jefe".utf8)))
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        #expect(hasher.hash("what do ya want for nothing?") == expected)
        #expect(hasher.hash(Data("what do ya want for nothing?".utf8)) == expected)
    }

    @Test func differentKeysGiveDifferentHashes() {
        let ring = KeyRing.generate()
        let tokens = KeyedHasher(key: ring.derivedKey(purpose: "token-hmac"))
        let audit = KeyedHasher(key: ring.derivedKey(purpose: "audit-hmac"))
        #expect(tokens.hash("s.token") != audit.hash("s.token"))
        #expect(tokens.hash("s.token") == tokens.hash("s.token"))
        #expect(tokens.hash("s.token").count == 64)
    }
}
