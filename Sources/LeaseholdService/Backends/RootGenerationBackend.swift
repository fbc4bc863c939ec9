import Foundation
import LeaseholdCore

/// Root token generation (`bao operator generate-root`) through OpenBao's authenticated endpoints: a caller whose
/// policy grants `sudo` on `sys/generate-root-token/*` starts an attempt, the holders of the unseal key shares
/// submit theirs, and the new root token comes back XORed with a one-time password only the initiator holds.
///
/// Every step is an audited request, and a step happens only with its audit row: a start, a share or a cancel
/// whose request is not recorded is undone. The last row names the new token's accessor; share rows name the
/// attempt and its progress. With several instances only the leader serves it, so there is one attempt per
/// installation. OpenBao's unauthenticated `sys/generate-root/*` endpoints (off by default since OpenBao 2.5.3) are
/// not served.
enum RootGenerationBackend {
    static let routes: [Route] = [
        Route(
            "sys/generate-root-token/attempt", sudo: [.update, .create, .delete],
            handlers: [.read: status, .update: start, .delete: cancel]),
        Route("sys/generate-root-token/update", sudo: [.update, .create], handlers: [.update: update]),
        Route("sys/decode-token", authentication: .none, handlers: [.update: decode]),
    ]

    /// Refuses on an instance that does not lead: its attempt would be invisible to the others.
    static func requireLeader(_ context: OperationContext) throws {
        guard context.services.leadership.isLeading else {
            throw LeaseholdError.invalidRequest("root generation is served by the leader instance only (see sys/leader)")
        }
    }

    static func statusData(_ status: RootGenerationStatus, otp: String = "") -> [String: JSONValue] {
        var data: [String: JSONValue] = [
            "started": .bool(status.started), "complete": false, "progress": .int(status.progress),
            "required": .int(status.required), "otp": .string(otp), "otp_length": .int(status.otpLength),
        ]
        if status.started {
            data["nonce"] = .string(status.nonce)
            data["pgp_fingerprint"] = ""
        }
        return data
    }

    static func status(_ context: OperationContext) async throws -> LogicalResponse {
        try requireLeader(context)
        return LogicalResponse(data: statusData(await context.services.seal.rootGenerationStatus()))
    }

    static func start(_ context: OperationContext) async throws -> LogicalResponse {
        try requireLeader(context)
        if let key = try context.data.string("pgp_key"), !key.isEmpty {
            throw LeaseholdError.invalidRequest("pgp_key is not supported: use a one-time password")
        }
        let seal = context.services.seal
        let started = try await seal.startRootGeneration(otp: try context.data.string("otp"))
        let nonce = started.status.nonce
        context.transaction.onAbandon { await seal.cancelRootGeneration(nonce: nonce) }
        context.transaction.annotate("root_generation_nonce", nonce)
        return LogicalResponse(data: statusData(started.status, otp: started.generatedOTP?.revealed ?? ""))
    }

    static func cancel(_ context: OperationContext) async throws -> LogicalResponse {
        try requireLeader(context)
        let seal = context.services.seal
        context.transaction.onCommit { await seal.cancelRootGeneration() }
        return .noContent
    }

    static func update(_ context: OperationContext) async throws -> LogicalResponse {
        try requireLeader(context)
        let key = try context.data.requiredString("key")
        let nonce = try context.data.requiredString("nonce")
        let seal = context.services.seal
        let step = try await seal.submitRootGenerationShare(key, nonce: nonce)
        // Annotated only once it named the attempt: a refused value may be a share sent in the wrong field.
        context.transaction.annotate("root_generation_nonce", nonce)
        var data: [String: JSONValue] = ["started": true, "nonce": .string(nonce), "encoded_token": "", "pgp_fingerprint": ""]
        switch step {
        case .progress(let progress, let required, let undo):
            context.transaction.onAbandon { await seal.restoreRootGeneration(undo) }
            context.transaction.annotate("root_generation_progress", "\(progress)/\(required)")
            data.merge(["complete": false, "progress": .int(progress), "required": .int(required)]) { _, new in new }
        case .complete(let attempt, let required, let undo):
            context.transaction.onAbandon { await seal.restoreRootGeneration(undo) }
            var request = TokenRequest(policies: ["root"])
            request.displayName = "root"
            request.path = "auth/token/root"
            let (token, entry) = try context.services.tokens.create(request, now: context.now, in: context.transaction)
            context.transaction.annotate("root_generation_progress", "\(required)/\(required)")
            context.transaction.annotate("root_token_accessor", entry.accessor)
            data.merge([
                "complete": true, "progress": .int(required), "required": .int(required),
                "encoded_token": .string(try attempt.encode(token)),
            ]) { _, new in new }
        }
        return LogicalResponse(data: data)
    }

    /// `sys/decode-token`: the inverse of the encoding, for clients that let the server do it. Like OpenBao's, it
    /// needs no token: it only reverses what its caller already holds.
    static func decode(_ context: OperationContext) async throws -> LogicalResponse {
        guard let encoded = try context.data.string("encoded_token"), !encoded.isEmpty,
            let otp = try context.data.string("otp"), !otp.isEmpty
        else { throw LeaseholdError.invalidRequest("provided 'encoded_token' or 'otp' is empty") }
        guard let token = RootGenerationAttempt.decode(encoded, otp: otp) else {
            throw LeaseholdError.invalidRequest("the encoded token does not decode with this one-time password")
        }
        return LogicalResponse(data: ["token": .string(token.revealed)])
    }
}
