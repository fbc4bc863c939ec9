import Foundation
import LeaseholdCore

/// The JSON form of an audit record in API answers, exports (one per line) and sinks: every column, the
/// policies and details as native JSON, and the hashes in hex, so that anyone can recompute the chain offline.
public struct AuditRecordDocument: Codable, Sendable, Hashable {
    /// The actor of a record.
    public struct Actor: Codable, Sendable, Hashable {
        public var accessor: String
        public var tokenHMAC: String
        public var displayName: String
        public var policies: [String]
        public var authMethod: String

        enum CodingKeys: String, CodingKey {
            case accessor, policies
            case tokenHMAC = "token_hmac"
            case displayName = "display_name"
            case authMethod = "auth_method"
        }
    }

    public var sequence: Int64
    /// Canonical RFC 3339 UTC time with microseconds (the text the hash covers).
    public var time: String
    public var requestID: String
    public var type: String
    public var operation: String
    public var path: String
    public var actor: Actor
    public var remoteAddress: String
    public var outcome: String
    public var errorClass: String?
    public var environment: String
    public var details: [String: String]
    /// Hex of the previous record's hash.
    public var previousHash: String
    /// Hex of this record's hash.
    public var hash: String

    enum CodingKeys: String, CodingKey {
        case sequence, time, type, operation, path, actor, outcome, environment, details, hash
        case requestID = "request_id"
        case remoteAddress = "remote_address"
        case errorClass = "error_class"
        case previousHash = "previous_hash"
    }

    /// The document of a record.
    public init(_ record: AuditRecord) {
        let event = record.event
        sequence = record.sequence
        time = AuditEvent.timestamp(event.time)
        requestID = event.requestID
        type = event.type
        operation = event.operation
        path = event.path
        actor = Actor(
            accessor: event.actor.accessor, tokenHMAC: event.actor.tokenHMAC, displayName: event.actor.displayName,
            policies: event.actor.policies, authMethod: event.actor.authMethod)
        remoteAddress = event.remoteAddress
        outcome = event.outcome
        errorClass = event.errorClass
        environment = event.environment
        details = event.details
        previousHash = record.previousHash.hexString
        hash = record.hash.hexString
    }

    /// Rebuilds the record exactly as it was appended; throws when a field is malformed.
    public func makeRecord() throws -> AuditRecord {
        guard let date = AuditTimestamp.date(from: time), let previous = Data(hexString: previousHash), let own = Data(hexString: hash),
            previous.count == 32, own.count == 32
        else { throw LeaseholdError.invalidRequest("audit record \(sequence) is malformed") }
        let event = AuditEvent(
            time: date, requestID: requestID, type: type, operation: operation, path: path,
            actor: AuditActor(
                accessor: actor.accessor, tokenHMAC: actor.tokenHMAC, displayName: actor.displayName,
                policies: actor.policies, authMethod: actor.authMethod),
            remoteAddress: remoteAddress, outcome: outcome, errorClass: errorClass, environment: environment,
            details: details)
        return AuditRecord(sequence: sequence, event: event, previousHash: previous, hash: own)
    }

    /// One line of a JSON-lines export: sorted keys, no trailing newline.
    public func jsonLine() throws -> String {
        String(decoding: try SortedJSONEncoder.audit.encode(self), as: UTF8.self)
    }
}
