import Foundation
import LeaseholdCore
import LeaseholdPolicy

/// Response wrapping: `X-Vault-Wrap-TTL` on any request and `sys/wrapping/*`.
///
/// A wrapped response is stored encrypted under the keyed hash of a single-use wrapping token. Unwrapping
/// deletes both with a version condition, so of two concurrent unwraps exactly one succeeds.
enum WrappingBackend {
    static let routes: [Route] = [
        Route("sys/wrapping/wrap", handlers: [.update: wrapData]),
        Route("sys/wrapping/unwrap", handlers: [.update: unwrap]),
        Route("sys/wrapping/lookup", authentication: .none, handlers: [.update: lookup, .read: lookup]),
        Route("sys/wrapping/rewrap", handlers: [.update: rewrap]),
    ]

    /// The longest a wrapping token may live.
    static let maximumTTL = TTL(seconds: 30 * 24 * 3600)

    /// What is stored for a wrapping token.
    struct WrappedResponse: Codable, Sendable {
        var data: [String: JSONValue]?
        var auth: StoredAuth?
        var warnings: [String]
        var creationPath: String
        var creationTime: Date
        var ttl: Int64
    }

    /// The `auth` block of a wrapped response (it contains a token: the whole record is encrypted at rest).
    struct StoredAuth: Codable, Sendable {
        var clientToken: SecretValue
        var accessor: String
        var policies: [String]
        var metadata: [String: String]
        var leaseDuration: Int64
        var renewable: Bool
        var orphan: Bool
        var numUses: Int

        init(_ block: AuthBlock) {
            clientToken = block.clientToken
            accessor = block.accessor
            policies = block.policies
            metadata = block.metadata
            leaseDuration = block.leaseDuration
            renewable = block.renewable
            orphan = block.orphan
            numUses = block.numUses
        }

        var block: AuthBlock {
            AuthBlock(
                clientToken: clientToken, accessor: accessor, policies: policies, metadata: metadata,
                leaseDuration: leaseDuration, renewable: renewable, orphan: orphan, numUses: numUses)
        }
    }

    /// Replaces `response` by a wrapping token whose single use returns it.
    static func wrap(_ response: LogicalResponse, ttl: TTL, context: OperationContext) throws -> LogicalResponse {
        guard !ttl.isZero else { return response }
        guard ttl <= maximumTTL else { throw LeaseholdError.invalidRequest("wrapping ttl is too long") }
        var request = TokenRequest(policies: ["response-wrapping"])
        request.kind = "wrapping"
        request.ttl = ttl
        request.explicitMaxTTL = ttl
        request.numUses = 1
        request.renewable = false
        request.noDefaultPolicy = true
        request.displayName = "response-wrapping"
        request.path = context.request.path
        request.environment = context.caller?.value.environment ?? "default"
        let (token, entry) = try context.services.tokens.create(request, now: context.now, in: context.transaction)
        let stored = WrappedResponse(
            data: response.data, auth: response.auth.map(StoredAuth.init), warnings: response.warnings,
            creationPath: context.request.path, creationTime: context.now, ttl: ttl.seconds)
        try context.transaction.put(stored, at: StoreKey(.wrappedResponses, entry.hash), condition: .absent)
        let info = WrapInfo(
            token: token, accessor: entry.accessor, ttl: ttl.seconds, creationTime: context.now,
            creationPath: context.request.path, wrappedAccessor: response.auth?.accessor)
        return LogicalResponse(wrapInfo: info)
    }

    static func wrapData(_ context: OperationContext) async throws -> LogicalResponse {
        guard context.request.wrapTTL != nil else {
            throw LeaseholdError.invalidRequest("the wrap TTL must be given in the X-Vault-Wrap-TTL header")
        }
        return LogicalResponse(data: context.data.consumeAllFields())
    }

    /// The wrapping token named by the body, or the caller's own token when it is a wrapping token.
    private static func wrappingToken(_ context: OperationContext) async throws -> (SecretValue, Versioned<TokenEntry>) {
        let invalid = LeaseholdError.invalidRequest("wrapping token is not valid or does not exist")
        let text = try context.data.string("token")
        let token: SecretValue
        if let text, !text.isEmpty {
            token = SecretValue(text)
        } else if let own = context.request.clientToken {
            token = own
        } else {
            throw invalid
        }
        guard let entry = try await context.services.tokens.lookup(token: token, now: context.now),
            entry.value.kind == "wrapping"
        else { throw invalid }
        return (token, entry)
    }

    private static func storedResponse(for entry: TokenEntry, context: OperationContext) async throws -> Versioned<WrappedResponse> {
        guard let stored = try await context.services.store.read(WrappedResponse.self, at: StoreKey(.wrappedResponses, entry.hash)) else {
            throw LeaseholdError.invalidRequest("wrapping token is not valid or does not exist")
        }
        return stored
    }

    /// Consumes the wrapping token and removes its stored response, conditionally on the versions read.
    private static func consume(_ entry: Versioned<TokenEntry>, stored: Versioned<WrappedResponse>, context: OperationContext) {
        context.transaction.delete(StoreKey(.tokens, entry.value.hash), condition: .version(entry.version))
        context.transaction.delete(StoreKey(.tokenAccessors, entry.value.accessor))
        context.transaction.delete(StoreKey(.wrappedResponses, entry.value.hash), condition: .version(stored.version))
    }

    static func unwrap(_ context: OperationContext) async throws -> LogicalResponse {
        let (_, entry) = try await wrappingToken(context)
        let stored = try await storedResponse(for: entry.value, context: context)
        consume(entry, stored: stored, context: context)
        let value = stored.value
        return LogicalResponse(data: value.data, auth: value.auth?.block, warnings: value.warnings)
    }

    static func lookup(_ context: OperationContext) async throws -> LogicalResponse {
        let (_, entry) = try await wrappingToken(context)
        let stored = try await storedResponse(for: entry.value, context: context)
        return LogicalResponse(data: [
            "creation_path": .string(stored.value.creationPath),
            "creation_time": .string(ISO8601DateFormatter().string(from: stored.value.creationTime)),
            "creation_ttl": .int(Int(stored.value.ttl)),
        ])
    }

    static func rewrap(_ context: OperationContext) async throws -> LogicalResponse {
        let (_, entry) = try await wrappingToken(context)
        let stored = try await storedResponse(for: entry.value, context: context)
        consume(entry, stored: stored, context: context)
        let original = LogicalResponse(data: stored.value.data, auth: stored.value.auth?.block, warnings: stored.value.warnings)
        return try wrap(original, ttl: TTL(seconds: stored.value.ttl), context: context)
    }
}
