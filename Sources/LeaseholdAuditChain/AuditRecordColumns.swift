import Foundation
import LeaseholdCore

/// An audit record flattened into the columns of the `audit_log` table, shared by both stores.
///
/// The layout keeps every field queryable with plain SQL: one column per field, the time as canonical text
/// (``AuditTimestamp``), and the policies and details as JSON text.
public struct AuditRecordColumns: Sendable, Hashable {
    /// `sequence`: the position in the chain.
    public var sequence: Int64
    /// `time`: ``LeaseholdCore/AuditEvent/timestamp(_:)`` of the event time.
    public var time: String
    /// `request_id`.
    public var requestID: String
    /// `type`.
    public var type: String
    /// `operation`.
    public var operation: String
    /// `path`.
    public var path: String
    /// `accessor`.
    public var accessor: String
    /// `token_hmac`.
    public var tokenHMAC: String
    /// `display_name`.
    public var displayName: String
    /// `policies`: a JSON array of strings.
    public var policies: String
    /// `auth_method`.
    public var authMethod: String
    /// `remote_address`.
    public var remoteAddress: String
    /// `outcome`.
    public var outcome: String
    /// `error_class`, `NULL` for successful requests.
    public var errorClass: String?
    /// `environment`.
    public var environment: String
    /// `details`: a JSON object of strings.
    public var details: String
    /// `previous_hash`: 32 bytes.
    public var previousHash: Data
    /// `hash`: 32 bytes.
    public var hash: Data

    /// Creates the columns from their stored values.
    public init(
        sequence: Int64,
        time: String,
        requestID: String,
        type: String,
        operation: String,
        path: String,
        accessor: String,
        tokenHMAC: String,
        displayName: String,
        policies: String,
        authMethod: String,
        remoteAddress: String,
        outcome: String,
        errorClass: String?,
        environment: String,
        details: String,
        previousHash: Data,
        hash: Data
    ) {
        self.sequence = sequence
        self.time = time
        self.requestID = requestID
        self.type = type
        self.operation = operation
        self.path = path
        self.accessor = accessor
        self.tokenHMAC = tokenHMAC
        self.displayName = displayName
        self.policies = policies
        self.authMethod = authMethod
        self.remoteAddress = remoteAddress
        self.outcome = outcome
        self.errorClass = errorClass
        self.environment = environment
        self.details = details
        self.previousHash = previousHash
        self.hash = hash
    }

    /// Flattens a record.
    public init(_ record: AuditRecord) throws {
        let event = record.event
        let encoder = SortedJSONEncoder.audit
        self.init(
            sequence: record.sequence,
            time: AuditEvent.timestamp(event.time),
            requestID: event.requestID,
            type: event.type,
            operation: event.operation,
            path: event.path,
            accessor: event.actor.accessor,
            tokenHMAC: event.actor.tokenHMAC,
            displayName: event.actor.displayName,
            policies: String(decoding: try encoder.encode(event.actor.policies), as: UTF8.self),
            authMethod: event.actor.authMethod,
            remoteAddress: event.remoteAddress,
            outcome: event.outcome,
            errorClass: event.errorClass,
            environment: event.environment,
            details: String(decoding: try encoder.encode(event.details), as: UTF8.self),
            previousHash: record.previousHash,
            hash: record.hash
        )
    }

    /// Rebuilds the record exactly as it was appended.
    ///
    /// Throws ``LeaseholdCore/LeaseholdError/Code/storeUnavailable`` when a column is malformed.
    public func makeRecord() throws -> AuditRecord {
        let decoder = JSONDecoder()
        guard let date = AuditTimestamp.date(from: time),
            let policies = try? decoder.decode([String].self, from: Data(policies.utf8)),
            let details = try? decoder.decode([String: String].self, from: Data(details.utf8))
        else {
            throw LeaseholdError(.storeUnavailable, "audit record \(sequence) is malformed in the store")
        }
        let actor = AuditActor(
            accessor: accessor,
            tokenHMAC: tokenHMAC,
            displayName: displayName,
            policies: policies,
            authMethod: authMethod
        )
        let event = AuditEvent(
            time: date,
            requestID: requestID,
            type: type,
            operation: operation,
            path: path,
            actor: actor,
            remoteAddress: remoteAddress,
            outcome: outcome,
            errorClass: errorClass,
            environment: environment,
            details: details
        )
        return AuditRecord(sequence: sequence, event: event, previousHash: previousHash, hash: hash)
    }
}
