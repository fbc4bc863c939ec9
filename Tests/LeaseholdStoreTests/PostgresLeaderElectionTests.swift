import Foundation
import LeaseholdCore
import LeaseholdStorePostgres
import LeaseholdTestSupport
import Logging
import Synchronization
import Testing

/// Instances sharing a PostgreSQL store elect one leader: exactly one leads, a follower knows the leader's address,
/// and leadership moves on when the leader stops or loses its session. Short intervals keep the suite fast; every
/// wait is bounded, so a broken election fails instead of hanging.
@Suite(
    "Leader election on the PostgreSQL store", .serialized, .timeLimit(.minutes(2)),
    .enabled(if: TestEnvironment.postgresURL != nil, "needs LEASEHOLD_TEST_POSTGRES_URL"))
struct PostgresLeaderElectionTests {
    static let interval = Duration.milliseconds(200)

    /// A switch the test flips while an election reads it.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        var isOn: Bool { value.load(ordering: .relaxed) }
        func set(_ on: Bool) { value.store(on, ordering: .relaxed) }
    }

    /// One candidate: its leadership and the task campaigning for it.
    struct Candidate {
        let address: String
        let leadership: Leadership
        let task: Task<Void, Never>

        static func start(
            on database: StoreTestDatabase, address: String, unsealed: Flag? = nil
        ) throws -> Candidate {
            let leadership = Leadership.shared()
            let election = try PostgresLeaderElection(
                url: database.url, leadership: leadership, advertisedAddress: address, interval: interval,
                timeout: .seconds(5), isEligible: { unsealed?.isOn ?? true },
                logger: Logger(label: "leasehold.test.election"))
            return Candidate(address: address, leadership: leadership, task: Task { await election.run() })
        }

        /// Stops campaigning and waits until the election has returned.
        func stop() async {
            task.cancel()
            await task.value
        }
    }

    /// The server process of the session that holds the leader lock under `address`'s name (0: none does).
    static func lockHolder(named address: String, in database: StoreTestDatabase) async throws -> Int {
        try await database.integer(
            """
            SELECT coalesce(max(l.pid), 0)::bigint FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0
              AND l.objid::bigint = \(PostgresLeaderElection.lockKey) AND a.application_name = 'leasehold \(address)'
            """)
    }

    static func withDatabase(_ body: (StoreTestDatabase) async throws -> Void) async throws {
        let database = try await StoreTestDatabase.create(on: try #require(TestEnvironment.postgresURL))
        do {
            try await body(database)
        } catch {
            try? await database.drop()
            throw error
        }
        try await database.drop()
    }

    @Test func exactlyOneOfThreeLeadsAndTheOthersKnowItsAddress() async throws {
        try await Self.withDatabase { database in
            let candidates = try (1...3).map { try Candidate.start(on: database, address: "https://broker-\($0):8200") }
            #expect(try await eventually(timeout: .seconds(10)) { candidates.filter(\.leadership.isLeading).count == 1 })
            let leading = candidates.first { $0.leadership.isLeading }
            let leader = try #require(leading)
            #expect(try await eventually(timeout: .seconds(10)) { candidates.allSatisfy { $0.leadership.leaderAddress == leader.address } })
            // It stays that way: nobody else takes over while the leader confirms its lock.
            try await Task.sleep(for: Self.interval * 5)
            #expect(candidates.filter(\.leadership.isLeading).map(\.address) == [leader.address])
            for candidate in candidates { await candidate.stop() }
            #expect(candidates.allSatisfy { !$0.leadership.isLeading })
        }
    }

    @Test func anotherInstanceTakesOverWhenTheLeaderStops() async throws {
        try await Self.withDatabase { database in
            let first = try Candidate.start(on: database, address: "https://first:8200")
            #expect(try await eventually(timeout: .seconds(10)) { first.leadership.isLeading })
            let second = try Candidate.start(on: database, address: "https://second:8200")
            #expect(try await eventually(timeout: .seconds(10)) { second.leadership.leaderAddress == first.address })
            #expect(!second.leadership.isLeading)
            await first.stop()
            #expect(!first.leadership.isLeading)
            #expect(try await eventually { second.leadership.isLeading })
            await second.stop()
        }
    }

    @Test func aLeaderWhoseSessionIsKilledStepsDownAndLeadershipMovesOn() async throws {
        try await Self.withDatabase { database in
            let candidates = try ["https://first:8200", "https://second:8200"].map { try Candidate.start(on: database, address: $0) }
            #expect(try await eventually(timeout: .seconds(10)) { candidates[1].leadership.leaderAddress == candidates[0].address
                || candidates[0].leadership.leaderAddress == candidates[1].address })
            let leading = candidates.first { $0.leadership.isLeading }
            let leader = try #require(leading)
            let session = try await Self.lockHolder(named: leader.address, in: database)
            #expect(session != 0)
            // The server ends the leader's session (as after a failover of the store, or an administrator's kill).
            try await database.execute("SELECT pg_terminate_backend(\(session))")
            // Leadership settles again on one instance, which holds the lock in a new session: the old leader
            // noticed the loss (it would otherwise still claim to lead while the lock is elsewhere, or nobody holds it).
            #expect(try await eventually(timeout: .seconds(10)) {
                let leading = candidates.filter(\.leadership.isLeading)
                guard leading.count == 1 else { return false }
                let holder = try await Self.lockHolder(named: leading[0].address, in: database)
                return holder != 0 && holder != session
            })
            for candidate in candidates { await candidate.stop() }
        }
    }

    @Test func onlyAnEligibleInstanceLeadsAndOneThatStopsBeingEligibleStepsDown() async throws {
        try await Self.withDatabase { database in
            let unsealed = Flag()
            let first = try Candidate.start(on: database, address: "https://first:8200", unsealed: unsealed)
            try await Task.sleep(for: Self.interval * 5)
            #expect(!first.leadership.isLeading)  // alone, but sealed: it does not campaign
            #expect(try await Self.lockHolder(named: first.address, in: database) == 0)
            unsealed.set(true)
            #expect(try await eventually(timeout: .seconds(10)) { first.leadership.isLeading })
            let second = try Candidate.start(on: database, address: "https://second:8200")
            #expect(try await eventually(timeout: .seconds(10)) { second.leadership.leaderAddress == first.address })
            unsealed.set(false)  // sealed again: it steps down and releases the lock
            #expect(try await eventually(timeout: .seconds(10)) { !first.leadership.isLeading && second.leadership.isLeading })
            #expect(try await Self.lockHolder(named: first.address, in: database) == 0)
            await first.stop()
            await second.stop()
        }
    }

    @Test func aLeaderWhoseEligibilityCheckHangsStepsDown() async throws {
        try await Self.withDatabase { database in
            let hanging = Flag()
            let leadership = Leadership.shared()
            let election = try PostgresLeaderElection(
                url: database.url, leadership: leadership, advertisedAddress: "https://first:8200", interval: Self.interval,
                timeout: .milliseconds(500),
                isEligible: {
                    if hanging.isOn { try? await Task.sleep(for: .seconds(3600)) }
                    return true
                },
                logger: Logger(label: "leasehold.test.election"))
            let first = Candidate(address: "https://first:8200", leadership: leadership, task: Task { await election.run() })
            #expect(try await eventually(timeout: .seconds(10)) { first.leadership.isLeading })
            let second = try Candidate.start(on: database, address: "https://second:8200")
            hanging.set(true)
            #expect(try await eventually(timeout: .seconds(10)) { !first.leadership.isLeading && second.leadership.isLeading })
            await first.stop()
            await second.stop()
        }
    }

    @Test func aLockHeldByAnotherSessionKeepsEveryInstanceFollowing() async throws {
        try await Self.withDatabase { database in
            let candidate = try await database.whileHolding("SELECT pg_advisory_lock(\(PostgresLeaderElection.lockKey))") {
                let candidate = try Candidate.start(on: database, address: "https://first:8200")
                try await Task.sleep(for: Self.interval * 5)
                #expect(!candidate.leadership.isLeading)
                #expect(candidate.leadership.leaderAddress == nil)  // not a Leasehold session: no address reported
                return candidate
            }
            // The foreign session ended with its transaction's connection: the lock is free again.
            #expect(try await eventually(timeout: .seconds(10)) { candidate.leadership.isLeading })
            await candidate.stop()
        }
    }

    @Test func aLongOrUnprintableAddressIsNotAdvertised() {
        #expect(PostgresLeaderElection.applicationName(advertising: "https://a:8200") == "leasehold https://a:8200")
        #expect(PostgresLeaderElection.applicationName(advertising: "https://" + String(repeating: "a", count: 60)) == "leasehold")
        #expect(PostgresLeaderElection.applicationName(advertising: "https://bröker:8200") == "leasehold")
    }
}

/// ``Leadership`` and the ``WatchedValue`` under it: waiters wake on the state they wait for, and a cancelled waiter
/// returns at once.
@Suite("Leadership", .timeLimit(.minutes(1)))
struct LeadershipStateTests {
    @Test func theSoleInstanceLeadsAndASharedOneFollowsUntilElected() async {
        #expect(Leadership.sole().isLeading && !Leadership.sole().isShared)
        let shared = Leadership.shared()
        #expect(!shared.isLeading && shared.isShared)
        await shared.waitUntil(leading: false)  // already true: returns at once
        let waiter = Task { await shared.waitUntil(leading: true) }
        try? await Task.sleep(for: .milliseconds(50))
        shared.update(leading: true, leaderAddress: "https://me:8200")
        await waiter.value
        #expect(shared.isLeading && shared.leaderAddress == "https://me:8200")
    }

    @Test func aWatchedValueWakesAWaiterOnlyOnceItsConditionHolds() async {
        let watched = WatchedValue(0)
        let woken = PostgresLeaderElectionTests.Flag()
        let waiter = Task {
            await watched.wait { $0 >= 2 }
            woken.set(true)
        }
        try? await Task.sleep(for: .milliseconds(50))
        watched.update { $0 = 1 }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(!woken.isOn)
        watched.update { $0 = 2 }
        await waiter.value
        #expect(woken.isOn)
        await watched.wait { $0 == 2 }  // already true: returns at once
    }

    @Test func aCancelledWaiterReturnsAndIsForgotten() async {
        let shared = Leadership.shared()
        let waiter = Task { await shared.waitUntil(leading: true) }
        try? await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await waiter.value
        // The cancelled waiter was removed: the change it waited for resumes nobody twice (a crash if it did).
        shared.update(leading: true, leaderAddress: nil)
        #expect(shared.isLeading)
    }
}
