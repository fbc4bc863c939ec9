import Foundation
import LeaseholdCore
import LeaseholdService
import LeaseholdTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// What an instance reports in `sys/leader`, and how ``LeaderOnlyService`` follows leadership.
@Suite("Leadership: sys/leader and leader-only work", .timeLimit(.minutes(1)))
struct LeadershipTests {
    @Test func sysLeaderReportsTheSoleInstanceAsLeader() async throws {
        let harness = try await BrokerHarness.make()
        try await harness.withClient { api in
            let leader = try await api.send(.get, "sys/leader").object
            #expect(leader["ha_enabled"] == false)
            #expect(leader["is_self"] == true)
            #expect(leader["leader_address"] == "http://127.0.0.1")
        }
    }

    @Test func sysLeaderFollowsTheElection() async throws {
        let leadership = Leadership.shared()
        let harness = try await BrokerHarness.make(leadership: leadership)
        try await harness.withClient { api in
            var leader = try await api.send(.get, "sys/leader").object
            #expect(leader["ha_enabled"] == true)
            #expect(leader["is_self"] == false)
            #expect(leader["leader_address"] == "")
            leadership.update(leading: false, leaderAddress: "https://other:8200")
            leader = try await api.send(.get, "sys/leader").object
            #expect(leader["is_self"] == false)
            #expect(leader["leader_address"] == "https://other:8200")
            leadership.update(leading: true, leaderAddress: "http://127.0.0.1")
            leader = try await api.send(.get, "sys/leader").object
            #expect(leader["is_self"] == true)
            #expect(leader["leader_address"] == "http://127.0.0.1")
        }
    }

    /// A service that counts its runs and how many are running, and runs until cancelled (or fails when told to).
    final class CountingService: Service {
        let runs = Atomic<Int>(0)
        let running = Atomic<Int>(0)
        let failing: Bool

        init(failing: Bool = false) { self.failing = failing }

        func run() async throws {
            runs.add(1, ordering: .relaxed)
            running.add(1, ordering: .relaxed)
            defer { running.subtract(1, ordering: .relaxed) }
            if failing { throw LeaseholdError(.internalError, "the service failed") }
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    @Test func leaderOnlyWorkRunsExactlyWhileLeading() async throws {
        let leadership = Leadership.shared()
        let service = CountingService()
        let wrapper = LeaderOnlyService(service, name: "counting", leadership: leadership, logger: Logger(label: "test"))
        let task = Task { try await wrapper.run() }
        try await Task.sleep(for: .milliseconds(100))
        #expect(service.runs.load(ordering: .relaxed) == 0)
        leadership.update(leading: true, leaderAddress: nil)
        #expect(try await eventually { service.running.load(ordering: .relaxed) == 1 })
        leadership.update(leading: false, leaderAddress: "https://other:8200")
        #expect(try await eventually { service.running.load(ordering: .relaxed) == 0 })
        leadership.update(leading: true, leaderAddress: nil)
        #expect(try await eventually { service.running.load(ordering: .relaxed) == 1 })
        #expect(service.runs.load(ordering: .relaxed) == 2)
        task.cancel()
        try await task.value
        #expect(service.running.load(ordering: .relaxed) == 0)
    }

    @Test func aFollowerStopsAtShutdownWithoutEverRunningTheWork() async throws {
        let service = CountingService()
        let wrapper = LeaderOnlyService(service, name: "counting", leadership: .shared(), logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [wrapper], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(100))
        await group.triggerGracefulShutdown()
        try await task.value
        #expect(service.runs.load(ordering: .relaxed) == 0)
    }

    @Test func aGracefulShutdownWhileLeadingStopsTheWork() async throws {
        let service = CountingService()
        let wrapper = LeaderOnlyService(service, name: "counting", leadership: .sole(), logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [wrapper], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        #expect(try await eventually { service.running.load(ordering: .relaxed) == 1 })
        await group.triggerGracefulShutdown()
        try await task.value
        #expect(service.running.load(ordering: .relaxed) == 0)
        #expect(service.runs.load(ordering: .relaxed) == 1)
    }

    @Test func aFailureOfTheWorkWhileLeadingEndsTheWrapperWithIt() async throws {
        let wrapper = LeaderOnlyService(
            CountingService(failing: true), name: "failing", leadership: .sole(), logger: Logger(label: "test"))
        let error = await #expect(throws: LeaseholdError.self) { try await wrapper.run() }
        #expect(error?.message == "the service failed")
    }
}
