import Foundation
import LeaseholdCore

/// Root token generation (`bao operator generate-root`) through OpenBao's authenticated endpoints: a caller whose
/// policy grants `sudo` on `sys/generate-root-token/*` starts an attempt, the holders of the unseal key shares
/// submit theirs, and the new root token comes back XORed with a one-time password only the initiator holds. Every
/// step is an audited request; the new token's accessor is in the last one. OpenBao's unauthenticated
/// `sys/generate-root/*` endpoints (off by default since OpenBao 2.5.3) are not served.
enum RootGenerationBackend {
    static let routes: [Route] = [
        Route(
            "sys/generate-root-token/attempt", sudo: [.update, .create, .delete],
            handlers: [.read: status, .update: start, .delete: cancel]),
        Route("sys/generate-root-token/update", sudo: [.update, .create], handlers: [.update: update]),
        Route("sys/decode-token", handlers: [.update: decode]),
    ]

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
        LogicalResponse(data: statusData(await context.services.seal.rootGenerationStatus()))
    }

    static func start(_ context: OperationContext) async throws -> LogicalResponse {
        if let key = try context.data.string("pgp_key"), !key.isEmpty {
            throw LeaseholdError.invalidRequest("pgp_key is not supported: use a one-time password")
        }
        let seal = context.services.seal
        let started = try await seal.startRootGeneration(otp: try context.data.string("otp"))
        // The attempt exists only if this request's audit row is stored.
        context.transaction.onAbandon { await seal.cancelRootGeneration(nonce: started.nonce) }
        context.transaction.annotate("root_generation_nonce", started.nonce)
        return LogicalResponse(data: statusData(await seal.rootGenerationStatus(), otp: started.generatedOTP?.revealed ?? ""))
    }

    static func cancel(_ context: OperationContext) async throws -> LogicalResponse {
        await context.services.seal.cancelRootGeneration()
        return .noContent
    }

    static func update(_ context: OperationContext) async throws -> LogicalResponse {
        let key = try context.data.requiredString("key")
        let nonce = try context.data.requiredString("nonce")
        let seal = context.services.seal
        let required = await seal.rootGenerationStatus().required
        guard let attempt = try await seal.submitRootGenerationShare(key, nonce: nonce) else {
            let status = await seal.rootGenerationStatus()
            return LogicalResponse(data: [
                "started": true, "complete": false, "progress": .int(status.progress), "required": .int(required),
                "nonce": .string(nonce), "encoded_token": "", "pgp_fingerprint": "",
            ])
        }
        var request = TokenRequest(policies: ["root"])
        request.displayName = "root"
        request.path = "auth/token/root"
        let (token, entry) = try context.services.tokens.create(request, now: context.now, in: context.transaction)
        context.transaction.annotate("root_token_accessor", entry.accessor)
        return LogicalResponse(data: [
            "started": true, "complete": true, "progress": .int(required), "required": .int(required),
            "nonce": .string(nonce), "encoded_token": .string(attempt.encode(token)), "pgp_fingerprint": "",
        ])
    }

    /// `sys/decode-token`: the inverse of the encoding, for clients that let the server do it.
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
