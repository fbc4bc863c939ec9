import Foundation
import LeaseholdCore
import LeaseholdPolicy
import LeaseholdSeal

/// Builds audit events for requests. Secrets never enter an event: the client token appears only as its HMAC
/// under the installation's audit key.
enum AuditRecorder {
    static func actor(for caller: TokenEntry?, token: SecretValue?, hasher: KeyedHasher) -> AuditActor {
        AuditActor(
            accessor: caller?.accessor ?? "", tokenHMAC: token.map { "hmac-sha256:" + hasher.hash($0.revealed) } ?? "",
            displayName: caller?.displayName ?? "", policies: caller?.policies ?? [],
            authMethod: caller?.authMethod ?? "")
    }

    static func event(
        for request: LogicalRequest, operation: LogicalOperation, actor: AuditActor, environment: String,
        outcome: String, error: LeaseholdError?, time: Date
    ) -> AuditEvent {
        AuditEvent(
            time: time, requestID: request.requestID, type: "request", operation: operation.rawValue,
            path: request.path, actor: actor, remoteAddress: request.remoteAddress, outcome: outcome,
            errorClass: error.map { $0.code.description }, environment: environment)
    }
}
