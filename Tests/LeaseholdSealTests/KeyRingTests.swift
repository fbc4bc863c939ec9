import Crypto
import Foundation
import LeaseholdCore
import Testing

@testable import LeaseholdSeal

@Suite struct KeyRingTests {
    let associatedData = Data("sys/token/id/abc".utf8)

    static func expectAuthenticationFailure(_ body: () throws -> Data) {
        do {
            let plaintext = try body()
            Issue.record("decryption unexpectedly succeeded with \(plaintext.count) bytes")
        } catch let error as LeaseholdError {
            #expect(error.code == .internalError)
            #expect(error.message == "stored value failed authentication")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func roundTrips() throws {
        let ring = KeyRing.generate()
        for size in [0, 1, 15, 16, 17, 1000] {
            let plaintext = Data(SecureRandom.bytes(size))
            let ciphertext = try ring.encrypt(plaintext, associatedData: associatedData)
            #expect(ciphertext.count == size + 33)
            #expect(try ring.decrypt(ciphertext, associatedData: associatedData) == plaintext)
        }
    }

    @Test func layoutHasVersionTermAndFreshNonce() throws {
        let ring = KeyRing.generate().rotated().rotated()
        let first = try ring.encrypt(Data("same".utf8), associatedData: associatedData)
        let second = try ring.encrypt(Data("same".utf8), associatedData: associatedData)
        #expect(Array(first.prefix(5)) == [1, 0, 0, 0, 3])
        #expect(first[5..<17] != second[5..<17])
        #expect(first != second)
    }

    @Test func tamperingAnyByteFailsClosed() throws {
        let ring = KeyRing.generate()
        let ciphertext = try ring.encrypt(Data("a database password".utf8), associatedData: associatedData)
        for position in ciphertext.indices {
            for mask: UInt8 in [0x01, 0x80] {
                var tampered = ciphertext
                tampered[position] ^= mask
                Self.expectAuthenticationFailure { try ring.decrypt(tampered, associatedData: associatedData) }
            }
        }
    }

    @Test func truncationAndExtensionFailClosed() throws {
        let ring = KeyRing.generate()
        let ciphertext = try ring.encrypt(Data("a database password".utf8), associatedData: associatedData)
        for length in 0..<ciphertext.count {
            Self.expectAuthenticationFailure {
                try ring.decrypt(ciphertext.prefix(length), associatedData: associatedData)
            }
        }
        Self.expectAuthenticationFailure { try ring.decrypt(ciphertext + [0], associatedData: associatedData) }
    }

    @Test func wrongAssociatedDataFailsClosed() throws {
        let ring = KeyRing.generate()
        let ciphertext = try ring.encrypt(Data("secret".utf8), associatedData: associatedData)
        Self.expectAuthenticationFailure { try ring.decrypt(ciphertext, associatedData: Data("other/path".utf8)) }
        Self.expectAuthenticationFailure { try ring.decrypt(ciphertext, associatedData: Data()) }
    }

    @Test func swappedOrUnknownTermFailsClosed() throws {
        let ring = KeyRing.generate()
        let ciphertext = try ring.encrypt(Data("secret".utf8), associatedData: associatedData)
        let rotated = ring.rotated()
        var swapped = ciphertext
        swapped[4] = 2
        Self.expectAuthenticationFailure { try rotated.decrypt(swapped, associatedData: associatedData) }
        var unknown = ciphertext
        unknown[4] = 9
        Self.expectAuthenticationFailure { try rotated.decrypt(unknown, associatedData: associatedData) }
        // A value encrypted under a term the ring does not know.
        let newer = try rotated.encrypt(Data("secret".utf8), associatedData: associatedData)
        Self.expectAuthenticationFailure { try ring.decrypt(newer, associatedData: associatedData) }
    }

    @Test func otherRingCannotDecrypt() throws {
        let ciphertext = try KeyRing.generate().encrypt(Data("secret".utf8), associatedData: associatedData)
        Self.expectAuthenticationFailure { try KeyRing.generate().decrypt(ciphertext, associatedData: associatedData) }
    }

    @Test func rotationKeepsOldTermsAndUsesTheNewOne() throws {
        let original = KeyRing.generate()
        #expect(original.activeTerm == 1)
        #expect(original.terms == [1])
        #expect(original.installTime(term: 1) != nil)
        #expect(original.installTime(term: 2) == nil)

        let old = try original.encrypt(Data("old".utf8), associatedData: associatedData)
        let rotated = original.rotated()
        #expect(rotated.activeTerm == 2)
        #expect(rotated.terms == [1, 2])
        #expect(original.activeTerm == 1, "rotation returns a copy")
        #expect(try rotated.decrypt(old, associatedData: associatedData) == Data("old".utf8))

        let new = try rotated.encrypt(Data("new".utf8), associatedData: associatedData)
        #expect(Array(new.prefix(5)) == [1, 0, 0, 0, 2])
        #expect(try rotated.decrypt(new, associatedData: associatedData) == Data("new".utf8))

        let thrice = rotated.rotated().rotated()
        #expect(thrice.terms == [1, 2, 3, 4])
        #expect(try thrice.decrypt(old, associatedData: associatedData) == Data("old".utf8))
        #expect(try thrice.decrypt(new, associatedData: associatedData) == Data("new".utf8))
    }

    @Test func derivedKeysAreStableAcrossRotationAndSeparatedByPurpose() throws {
        let ring = KeyRing.generate()
        let rotated = ring.rotated().rotated()
        let tokenKey = ring.derivedKey(purpose: "token-hmac")
        #expect(tokenKey == rotated.derivedKey(purpose: "token-hmac"))
        #expect(tokenKey != ring.derivedKey(purpose: "audit-hmac"))
        #expect(tokenKey.bitCount == 256)
        #expect(tokenKey != KeyRing.generate().derivedKey(purpose: "token-hmac"))

        let rootKey = RootKey.generate()
        let reopened = try KeyRing.open(rotated.sealed(with: rootKey), with: rootKey)
        #expect(reopened.derivedKey(purpose: "token-hmac") == tokenKey)
    }

    @Test func sealedRingOpensWithTheRightRootKeyOnly() throws {
        let rootKey = RootKey.generate()
        let ring = KeyRing.generate().rotated()
        let old = try ring.encrypt(Data("old".utf8), associatedData: associatedData)
        let sealed = try ring.sealed(with: rootKey)

        let reopened = try KeyRing.open(sealed, with: rootKey)
        #expect(reopened.activeTerm == 2)
        #expect(reopened.terms == [1, 2])
        #expect(try reopened.decrypt(old, associatedData: associatedData) == Data("old".utf8))
        let installed = try #require(ring.installTime(term: 2))
        let reopenedInstalled = try #require(reopened.installTime(term: 2))
        #expect(abs(installed.timeIntervalSince(reopenedInstalled)) < 0.002)

        func expectWrongRootKey(_ data: Data, _ key: RootKey) {
            do {
                _ = try KeyRing.open(data, with: key)
                Issue.record("opened with the wrong key or tampered data")
            } catch let error as LeaseholdError {
                #expect(error.code == .invalidRequest)
                #expect(error.message == "unseal failed: the combined key does not open the key ring")
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        expectWrongRootKey(sealed, RootKey.generate())
        for position in sealed.indices {
            var tampered = sealed
            tampered[position] ^= 0x01
            expectWrongRootKey(tampered, rootKey)
        }
        expectWrongRootKey(sealed.prefix(sealed.count - 1), rootKey)
        expectWrongRootKey(Data(), rootKey)
    }

    @Test func descriptionsDoNotRevealKeys() {
        let ring = KeyRing.generate().rotated()
        #expect(ring.description == "KeyRing(activeTerm: 2, terms: [1, 2])")
        var dumped = ""
        dump(ring, to: &dumped)
        #expect(!dumped.contains("SymmetricKey"))
        #expect(!dumped.contains("key"))
    }
}
