import LeaseholdCore
import Testing

@testable import LeaseholdSeal

@Suite struct ShamirTests {
    /// All subsets of `0..<count` of size `size`.
    static func combinations(of count: Int, choosing size: Int) -> [[Int]] {
        guard size > 0 else { return [[]] }
        guard count >= size else { return [] }
        let withoutLast = combinations(of: count - 1, choosing: size)
        let withLast = combinations(of: count - 1, choosing: size - 1).map { $0 + [count - 1] }
        return withoutLast + withLast
    }

    static func expectInvalid(_ message: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \"\(message)\"")
        } catch let error as LeaseholdError {
            #expect(error.code == .invalidRequest)
            #expect(error.message == message)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func sharesHaveVaultLayout() throws {
        let secret = SecureRandom.bytes(32)
        let shares = try Shamir.split(secret, shares: 5, threshold: 3)
        #expect(shares.count == 5)
        #expect(shares.allSatisfy { $0.count == 33 })
        let xs = shares.map { $0[32] }
        #expect(Set(xs).count == 5)
        #expect(!xs.contains(0))
    }

    @Test func everySubsetAtOrAboveTheThresholdRebuildsTheSecret() throws {
        let secret = SecureRandom.bytes(32)
        let shares = try Shamir.split(secret, shares: 5, threshold: 3)
        for size in 3...5 {
            for subset in Self.combinations(of: 5, choosing: size) {
                #expect(try Shamir.combine(subset.map { shares[$0] }) == secret, "subset \(subset)")
                #expect(try Shamir.combine(subset.reversed().map { shares[$0] }) == secret)
            }
        }
    }

    @Test func everySubsetBelowTheThresholdFails() throws {
        let secret = SecureRandom.bytes(32)
        let shares = try Shamir.split(secret, shares: 5, threshold: 3)
        for size in 1...2 {
            for subset in Self.combinations(of: 5, choosing: size) {
                #expect(try Shamir.combine(subset.map { shares[$0] }) != secret, "subset \(subset)")
            }
        }
    }

    @Test(arguments: [(1, 1), (2, 1), (5, 1), (2, 2), (10, 7), (255, 255), (255, 2), (255, 1), (200, 100)])
    func randomSplitsRebuild(shareCount: Int, threshold: Int) throws {
        let secret = SecureRandom.bytes(32)
        let shares = try Shamir.split(secret, shares: shareCount, threshold: threshold)
        #expect(shares.count == shareCount)
        #expect(Set(shares.map { $0[32] }).count == shareCount)
        let chosen = Array(shares.shuffled().prefix(threshold))
        #expect(try Shamir.combine(chosen) == secret)
        #expect(try Shamir.combine(shares) == secret)
        if threshold > 1 {
            #expect(try Shamir.combine(Array(chosen.dropLast())) != secret)
        }
    }

    /// security.md S15: random (n, k) with 2 ≤ k ≤ n ≤ 10; k shares rebuild, k − 1 never do.
    @Test func randomConfigurationsRebuildOnlyWithTheThreshold() throws {
        for _ in 0..<1_000 {
            let shareCount = Int.random(in: 2...10)
            let threshold = Int.random(in: 2...shareCount)
            let secret = SecureRandom.bytes(Int.random(in: 1...48))
            let shares = try Shamir.split(secret, shares: shareCount, threshold: threshold).shuffled()
            #expect(try Shamir.combine(Array(shares.prefix(threshold))) == secret)
            if secret.count >= 16 {
                // Equal only if every leading coefficient byte is 0: probability 2^-128 or less.
                #expect(try Shamir.combine(Array(shares.prefix(threshold - 1))) != secret)
            }
        }
    }

    @Test func thresholdOneSharesEachHoldTheSecret() throws {
        let secret: [UInt8] = [1, 2, 3, 4]
        for share in try Shamir.split(secret, shares: 3, threshold: 1) {
            #expect(try Shamir.combine([share]) == secret)
        }
    }

    /// A Vault-style share set built by hand: p(x) = 0x42 + 0x17·x in the AES field, at x = 1 and x = 2.
    @Test func combinesHandBuiltShares() throws {
        let shares: [[UInt8]] = [[0x42 ^ 0x17, 1], [0x42 ^ 0x2E, 2]]
        #expect(try Shamir.combine(shares) == [0x42])
    }

    @Test func rejectsInvalidConfigurations() {
        let secret: [UInt8] = [1, 2, 3]
        Self.expectInvalid("invalid seal configuration: threshold must not exceed the number of shares") {
            _ = try Shamir.split(secret, shares: 3, threshold: 4)
        }
        Self.expectInvalid("invalid seal configuration: shares must be at least one") {
            _ = try Shamir.split(secret, shares: 0, threshold: 0)
        }
        Self.expectInvalid("invalid seal configuration: shares must be less than 256") {
            _ = try Shamir.split(secret, shares: 256, threshold: 2)
        }
        Self.expectInvalid("invalid seal configuration: threshold must be at least one") {
            _ = try Shamir.split(secret, shares: 3, threshold: 0)
        }
        Self.expectInvalid("cannot split an empty secret") {
            _ = try Shamir.split([], shares: 3, threshold: 2)
        }
    }

    @Test func rejectsDuplicateShares() throws {
        let shares = try Shamir.split([9, 8, 7], shares: 3, threshold: 2)
        Self.expectInvalid("duplicate key share") { _ = try Shamir.combine([shares[0], shares[1], shares[0]]) }
        // Same x-coordinate, different y-values.
        var forged = shares[1]
        forged[3] = shares[0][3]
        Self.expectInvalid("duplicate key share") { _ = try Shamir.combine([shares[0], forged]) }
    }

    @Test func rejectsZeroCoordinate() throws {
        var shares = try Shamir.split([9, 8, 7], shares: 3, threshold: 2)
        shares[1][3] = 0
        Self.expectInvalid("invalid key share: x-coordinate must not be zero") {
            _ = try Shamir.combine([shares[0], shares[1]])
        }
    }

    @Test func rejectsMalformedShareSets() throws {
        let shares = try Shamir.split([9, 8, 7], shares: 3, threshold: 2)
        Self.expectInvalid("all key shares must be the same length") {
            _ = try Shamir.combine([shares[0], Array(shares[1].dropFirst())])
        }
        Self.expectInvalid("at least one key share is required") { _ = try Shamir.combine([]) }
        Self.expectInvalid("invalid key share: too short") { _ = try Shamir.combine([[1]]) }
        Self.expectInvalid("invalid key share: too short") { _ = try Shamir.combine([[], []]) }
    }
}
