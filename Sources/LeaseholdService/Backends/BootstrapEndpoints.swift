import Foundation
import LeaseholdCore
import LeaseholdPolicy
import LeaseholdSeal

/// The unauthenticated bootstrap endpoints that answer while sealed: `sys/init`, `sys/seal-status`,
/// `sys/unseal`, `sys/health` and `sys/leader`. They return bare JSON with no envelope.
struct BootstrapEndpoints {
    let broker: Broker

    /// The response, or `nil` when the path is not a bootstrap endpoint.
    func handle(_ request: LogicalRequest) async throws -> LogicalResponse? {
        switch (request.path, request.operation) {
        case ("sys/init", .read): return .raw(["initialized": .bool(await broker.seal.isInitialized)])
        case ("sys/init", .update), ("sys/init", .create): return try await initialize(request)
        case ("sys/init", _): throw LeaseholdError.unsupportedOperation
        case ("sys/seal-status", .read): return .raw(await sealStatus())
        case ("sys/seal-status", _): throw LeaseholdError.unsupportedOperation
        case ("sys/unseal", .update), ("sys/unseal", .create): return try await unseal(request)
        case ("sys/unseal", _): throw LeaseholdError.unsupportedOperation
        case ("sys/health", .read): return try await health(request)
        case ("sys/health", _): throw LeaseholdError.unsupportedOperation
        case ("sys/leader", .read): return leader()
        case ("sys/leader", _): throw LeaseholdError.unsupportedOperation
        default:
            return nil
        }
    }

    private func initialize(_ request: LogicalRequest) async throws -> LogicalResponse {
        let shares = try request.data.int("secret_shares") ?? 0
        let threshold = try request.data.int("secret_threshold") ?? 0
        if let pgp = request.data.value("pgp_keys"), pgp != .null, pgp != .array([]) {
            throw LeaseholdError.invalidRequest("pgp_keys are not supported")
        }
        let result = try await broker.initialize(
            shares: shares, threshold: threshold, rootTokenID: nil, requestID: request.requestID,
            remoteAddress: request.remoteAddress)
        let hex = result.keys.map(\.revealed)
        let base64 = hex.compactMap { Data(hexString: $0)?.base64EncodedString() }
        return .raw([
            "keys": .strings(hex), "keys_base64": .strings(base64), "root_token": .string(result.rootToken.revealed),
            "recovery_keys": .null, "recovery_keys_base64": .null,
        ])
    }

    private func unseal(_ request: LogicalRequest) async throws -> LogicalResponse {
        if try request.data.bool("reset") == true {
            await broker.seal.resetProgress()
        } else {
            let key = try request.data.requiredString("key")
            try await broker.seal.submit(share: key)
        }
        BrokerMetrics.recordSealed(await broker.seal.isSealed)
        return .raw(await sealStatus())
    }

    func sealStatus() async -> [String: JSONValue] {
        let status = await broker.seal.status()
        var body: [String: JSONValue] = [
            "type": .string(status.type), "initialized": .bool(status.initialized), "sealed": .bool(status.sealed),
            "t": .int(status.threshold), "n": .int(status.shares), "progress": .int(status.progress),
            "nonce": .string(status.nonce), "version": .string(broker.information.version),
            "build_date": "", "commit_date": "", "migration": false, "recovery_seal": false,
            "storage_type": .string(broker.information.storageType),
        ]
        if !status.sealed {
            body["cluster_name"] = .string(status.clusterName)
            body["cluster_id"] = .string(status.clusterID)
        }
        return body
    }

    /// `sys/leader`. Every instance serves every request; the leader is the one that runs the store-wide background
    /// work (``LeaderOnlyService``). `ha_enabled` says whether instances may share the store (the PostgreSQL store);
    /// a follower reports the leader's address when the election has learned it, and an empty one otherwise.
    private func leader() -> LogicalResponse {
        let leadership = broker.leadership
        let leading = leadership.isLeading
        let address = leading ? broker.information.apiAddress : (leadership.leaderAddress ?? "")
        return .raw([
            "ha_enabled": .bool(leadership.isShared), "is_self": .bool(leading), "leader_address": .string(address),
            "leader_cluster_address": "", "performance_standby": false, "raft_committed_index": 0,
            "raft_applied_index": 0,
        ])
    }

    private func health(_ request: LogicalRequest) async throws -> LogicalResponse {
        let status = await broker.seal.status()
        func code(_ name: String, default value: Int) throws -> Int {
            guard let text = try request.data.string(name), !text.isEmpty else { return value }
            guard let parsed = Int(text), (100...599).contains(parsed) else {
                throw LeaseholdError.invalidRequest("bad code given for \(name): \(text.prefix(16))")
            }
            return parsed
        }
        let active = try code("activecode", default: 200)
        let sealedCode = try code("sealedcode", default: 503)
        let uninitialized = try code("uninitcode", default: 501)
        _ = try code("standbycode", default: 429)
        _ = try code("drsecondarycode", default: 472)
        _ = try code("performancestandbycode", default: 473)
        _ = try request.data.bool("standbyok")
        _ = try request.data.bool("perfstandbyok")
        let statusCode = !status.initialized ? uninitialized : (status.sealed ? sealedCode : active)
        var body: [String: JSONValue] = [
            "initialized": .bool(status.initialized), "sealed": .bool(status.sealed),
            "standby": .bool(status.sealed || !status.initialized), "performance_standby": false,
            "replication_performance_mode": status.sealed ? "unknown" : "disabled",
            "replication_dr_mode": status.sealed ? "unknown" : "disabled",
            "server_time_utc": .int(Int(broker.now().timeIntervalSince1970)),
            "version": .string(broker.information.version),
        ]
        if !status.sealed {
            body["cluster_name"] = .string(status.clusterName)
            body["cluster_id"] = .string(status.clusterID)
        }
        return .raw(body, status: statusCode)
    }
}

extension Broker {
    /// Initializes the seal and stores the initial root token, with an audit row, in one commit.
    func initialize(
        shares: Int, threshold: Int, rootTokenID: String?, requestID: String, remoteAddress: String
    ) async throws -> InitializationResult {
        let result = try await seal.initialize(shares: shares, threshold: threshold) { keys, sealOperations in
            let services = self.makeServices(keys: keys)
            let transaction = StoreTransaction(store: services.store)
            var rootRequest = TokenRequest(policies: ["root"])
            rootRequest.displayName = "root"
            rootRequest.path = "auth/token/root"
            rootRequest.customID = rootTokenID.map(SecretValue.init)
            let now = self.now()
            let (token, entry) = try services.tokens.create(rootRequest, now: now, in: transaction)
            let event = AuditEvent(
                time: now, requestID: requestID, type: "init", operation: "update", path: "sys/init",
                actor: .anonymous, remoteAddress: remoteAddress, outcome: "allowed",
                details: ["root_token_accessor": entry.accessor])
            var batch = transaction.batch(appending: event)
            batch.operations.insert(contentsOf: sealOperations, at: 0)
            try await self.commit(batch)
            return token
        }
        BrokerMetrics.recordSealed(await seal.isSealed)
        return result
    }

    /// Initializes a development server: one unseal key, threshold one, optionally a chosen root token.
    public func initializeForDevelopment(rootTokenID: String?) async throws -> (unsealKey: SecretValue, rootToken: SecretValue) {
        let result = try await initialize(
            shares: 1, threshold: 1, rootTokenID: rootTokenID, requestID: SecureRandom.uuid(),
            remoteAddress: "")
        let share = result.keys.first?.revealed ?? ""
        try await seal.submit(share: share)
        BrokerMetrics.recordSealed(await seal.isSealed)
        let key = Data(hexString: share)?.base64EncodedString() ?? ""
        return (SecretValue(key), result.rootToken)
    }
}
