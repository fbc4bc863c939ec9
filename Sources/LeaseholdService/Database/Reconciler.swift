import Foundation
import LeaseholdCore
import Logging

/// What one reconciliation pass found.
public struct ReconciliationReport: Sendable {
    /// A managed user on a target with no live lease.
    public struct Orphan: Sendable {
        /// The mount and connection it was found on.
        public var connection: String
        /// The database user.
        public var username: String
        /// The lease id from the user's comment, if any.
        public var leaseID: String?
        /// `revoked`, `would revoke` (dry run) or the failure reason.
        public var action: String
    }

    /// Connections examined.
    public var connections = 0
    /// Managed users seen.
    public var managedUsers = 0
    /// Users without a live lease.
    public var orphans: [Orphan] = []
    /// Connections that could not be examined, with the reason.
    public var unreachable: [String: String] = [:]

    /// The `data` of the API response.
    public var json: [String: JSONValue] {
        [
            "connections": .int(connections), "managed_users": .int(managedUsers),
            "orphans": .array(orphans.map { orphan in
                ["connection": .string(orphan.connection), "username": .string(orphan.username),
                 "lease_id": orphan.leaseID.map(JSONValue.string) ?? .null, "action": .string(orphan.action)]
            }),
            "unreachable": .object(unreachable.mapValues(JSONValue.string)),
        ]
    }
}

/// The comment written on every managed user: which broker installation and which lease it belongs to, so a
/// broker never mistakes another installation's users on a shared server for its own orphans.
struct ManagedUserMarker: Equatable {
    let clusterID: String
    let leaseID: String

    init(clusterID: String, leaseID: String) {
        self.clusterID = clusterID
        self.leaseID = leaseID
    }

    /// Parses `leasehold:<cluster id>:<lease id>`; `nil` for anything else.
    init?(comment: String?) {
        guard let comment, comment.hasPrefix("leasehold:") else { return nil }
        let rest = comment.dropFirst("leasehold:".count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        clusterID = String(rest[..<colon])
        leaseID = String(rest[rest.index(after: colon)...])
    }

    var text: String { "leasehold:\(clusterID):\(leaseID)" }
}

/// Compares each target's managed users (members of the bookkeeping role) with the store's leases and revokes
/// managed users that have no live lease. Users without the managed marker are never touched.
struct Reconciler: Sendable {
    let services: BrokerServices

    func reconcile(dryRun: Bool, now: Date, actor: AuditActor, requestID: String) async throws -> ReconciliationReport {
        var report = ReconciliationReport()
        for mount in try await services.mounts.entries(auth: false) where mount.type == "database" {
            for key in try await services.store.base.allKeys(in: .databaseConnections, prefix: mount.path) {
                guard let connection = try await services.store.read(DatabaseConnection.self, at: StoreKey(.databaseConnections, key)) else {
                    continue
                }
                report.connections += 1
                let users: [ManagedDatabaseUser]
                let engine: any DatabaseEngine
                do {
                    engine = try await services.engine(key: StoreKey(.databaseConnections, key).description, connection: connection)
                    users = try await engine.managedUsers()
                } catch {
                    report.unreachable[key] = (error as? LeaseholdError)?.message ?? "unreachable"
                    continue
                }
                let clusterID = await services.seal.status().clusterID
                let ours = users.filter { ManagedUserMarker(comment: $0.leaseID)?.clusterID == clusterID }
                report.managedUsers += ours.count
                for user in ours where try await !hasLiveLease(user) {
                    // The marker names the lease the user was made for; reports and audit rows carry that lease id.
                    let leaseID = ManagedUserMarker(comment: user.leaseID)?.leaseID
                    var orphan = ReconciliationReport.Orphan(connection: key, username: user.username, leaseID: leaseID, action: "would revoke")
                    if !dryRun {
                        orphan.action = try await revoke(
                            user, leaseID: leaseID, engine: engine, connection: key, now: now, actor: actor, requestID: requestID)
                    }
                    report.orphans.append(orphan)
                }
            }
        }
        return report
    }

    private func hasLiveLease(_ user: ManagedDatabaseUser) async throws -> Bool {
        guard let leaseID = ManagedUserMarker(comment: user.leaseID)?.leaseID,
            let lease = try await services.leases.lease(leaseID)
        else { return false }
        return lease.value.username == user.username
    }

    private func revoke(
        _ user: ManagedDatabaseUser, leaseID: String?, engine: any DatabaseEngine, connection: String, now: Date, actor: AuditActor,
        requestID: String
    ) async throws -> String {
        let action: String
        do {
            switch try await engine.revokeUser(try DatabaseUsername(user.username), statements: []) {
            case .dropped, .alreadyAbsent: action = "revoked"
            case .disabledOnly(let reason): action = "login disabled; drop failed: \(reason)"
            }
        } catch {
            action = "failed: " + ((error as? LeaseholdError)?.message ?? "error")
        }
        let event = AuditEvent(
            time: now, requestID: requestID, type: LeaseEventType.reconcile, operation: "delete", path: connection, actor: actor,
            remoteAddress: "", outcome: action == "revoked" ? "allowed" : "error", environment: "default",
            details: ["db_username": user.username, "lease_id": leaseID ?? "", "connection": connection, "action": action])
        try await services.commit(StoreBatch(auditEvents: [event]))
        return action
    }
}

extension PeriodicService {
    /// Runs a reconciliation pass every `interval` while the broker is unsealed.
    public static func reconciler(broker: Broker, interval: Duration = .seconds(300), logger: Logger) -> PeriodicService {
        PeriodicService("reconciliation pass", every: interval, logger: logger) {
            guard let keys = try? await broker.seal.keys() else { return }
            let report = try await Reconciler(services: broker.makeServices(keys: keys)).reconcile(
                dryRun: false, now: broker.now(), actor: AuditActor(authMethod: "reconciler"), requestID: "")
            if !report.orphans.isEmpty {
                logger.notice("reconciler revoked orphaned database users", metadata: ["orphans": "\(report.orphans.count)"])
            }
        }
    }
}
