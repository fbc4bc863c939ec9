import Foundation
import LeaseholdCore
import LeaseholdService

/// Renders an audit record as a Vault-shaped audit log entry (JSON), and frames it for a sink.
///
/// The entry follows Vault's `response` entries (`time`, `type`, `auth`, `request`, `error`) so existing SIEM
/// parsers work; Leasehold's own fields (chain position and hashes, event type, outcome, environment, details) are
/// under `leasehold`. Only what the stored row holds is rendered, and the row never holds a secret: the client
/// token appears as its keyed hash.
struct AuditEntryFormat: Sendable {
    /// How messages are framed.
    let framing: AuditSinkSettings.Framing
    private let hostname: String

    /// Creates the format.
    init(framing: AuditSinkSettings.Framing) {
        self.framing = framing
        hostname = Self.localHostname()
    }

    /// The JSON entry, without a trailing newline.
    func json(_ record: AuditRecord) throws -> [UInt8] {
        try SortedJSONEncoder.audit.encode(VaultAuditEntry(record))
    }

    /// One message: the JSON entry, or an RFC 5424 syslog message carrying it.
    func message(_ record: AuditRecord) throws -> [UInt8] {
        switch framing {
        case .jsonLines:
            return try json(record)
        case .syslog(let facility, let appName):
            let severity = record.event.outcome == "allowed" ? 6 : 5
            let header = "<\(facility * 8 + severity)>1 \(AuditEvent.timestamp(record.event.time)) \(hostname) \(appName) \(getpid()) audit - "
            return Array(header.utf8) + (try json(record))
        }
    }

    /// One message framed for a byte stream: a line of JSON, or an octet-counted syslog message (RFC 6587).
    func streamFrame(_ record: AuditRecord) throws -> [UInt8] {
        let message = try message(record)
        switch framing {
        case .jsonLines: return message + [UInt8(ascii: "\n")]
        case .syslog: return Array("\(message.count) ".utf8) + message
        }
    }

    /// This host's name as RFC 5424 HOSTNAME (printable ASCII, at most 255), or `-`.
    private static func localHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "-" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && $0.asciiValue.map { (33...126).contains($0) } == true }) else { return "-" }
        return name
    }
}

/// Vault's audit entry shape, with Leasehold's fields under `leasehold`.
struct VaultAuditEntry: Encodable {
    struct Auth: Encodable {
        var clientToken: String
        var accessor: String
        var displayName: String
        var policies: [String]
        var tokenPolicies: [String]
        var tokenType: String

        enum CodingKeys: String, CodingKey {
            case clientToken = "client_token", accessor, displayName = "display_name", policies
            case tokenPolicies = "token_policies", tokenType = "token_type"
        }
    }

    struct Namespace: Encodable {
        var id = "root"
    }

    struct Request: Encodable {
        var id: String
        var operation: String
        var path: String
        var clientToken: String
        var clientTokenAccessor: String
        var remoteAddress: String
        var namespace = Namespace()

        enum CodingKeys: String, CodingKey {
            case id, operation, path, clientToken = "client_token", clientTokenAccessor = "client_token_accessor"
            case remoteAddress = "remote_address", namespace
        }
    }

    struct Leasehold: Encodable {
        var sequence: Int64
        var hash: String
        var previousHash: String
        var eventType: String
        var outcome: String
        var environment: String
        var authMethod: String
        var details: [String: String]

        enum CodingKeys: String, CodingKey {
            case sequence, hash, previousHash = "previous_hash", eventType = "event_type", outcome, environment
            case authMethod = "auth_method", details
        }
    }

    var time: String
    var type = "response"
    var auth: Auth
    var request: Request
    var error: String?
    var leasehold: Leasehold

    init(_ record: AuditRecord) {
        let event = record.event
        let actor = event.actor
        time = AuditEvent.timestamp(event.time)
        auth = Auth(
            clientToken: actor.tokenHMAC, accessor: actor.accessor, displayName: actor.displayName, policies: actor.policies,
            tokenPolicies: actor.policies, tokenType: actor.accessor.isEmpty ? "" : "service")
        request = Request(
            id: event.requestID, operation: event.operation, path: event.path, clientToken: actor.tokenHMAC,
            clientTokenAccessor: actor.accessor, remoteAddress: event.remoteAddress)
        // Vault's message for denials, which SIEM rules match; other failures carry Leasehold's error class.
        error = event.errorClass.map { $0 == "permissionDenied" ? "permission denied" : $0 }
        leasehold = Leasehold(
            sequence: record.sequence, hash: record.hash.hexString, previousHash: record.previousHash.hexString, eventType: event.type,
            outcome: event.outcome, environment: event.environment, authMethod: actor.authMethod, details: event.details)
    }
}

