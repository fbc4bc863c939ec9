/// An error the broker can report to a caller.
///
/// `message` is safe to show to clients: it never contains secret material. `underlying` is kept for logs
/// only and must itself be redacted (PostgresNIO and GRDB errors already are). Equality compares the code only.
public struct LeaseholdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of failure; maps onto an HTTP status in the HTTP layer.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String, Sendable {
            case invalidRequest, permissionDenied, notFound, unsupportedPath, unsupportedOperation, sealed,
                notInitialized, payloadTooLarge, conflict, rateLimited, storeUnavailable, auditFailure, internalError,
                unsupportedMediaType, targetUnavailable
        }
        let kind: Kind
        /// Malformed or semantically invalid input (HTTP 400).
        public static let invalidRequest = Code(kind: .invalidRequest)
        /// The token is missing, invalid, or lacks a capability (HTTP 403).
        public static let permissionDenied = Code(kind: .permissionDenied)
        /// The addressed object does not exist (HTTP 404 with an empty error list).
        public static let notFound = Code(kind: .notFound)
        /// No backend serves the path (HTTP 404 with a message).
        public static let unsupportedPath = Code(kind: .unsupportedPath)
        /// The backend does not support this operation on the path (HTTP 405).
        public static let unsupportedOperation = Code(kind: .unsupportedOperation)
        /// The broker is sealed (HTTP 503).
        public static let sealed = Code(kind: .sealed)
        /// The broker has not been initialized (HTTP 501 on health, 400 elsewhere).
        public static let notInitialized = Code(kind: .notInitialized)
        /// The request body exceeds the configured limit (HTTP 413).
        public static let payloadTooLarge = Code(kind: .payloadTooLarge)
        /// A conditional store write lost a race (retried internally; HTTP 409 if it escapes).
        public static let conflict = Code(kind: .conflict)
        /// A quota or rate limit was exceeded (HTTP 429).
        public static let rateLimited = Code(kind: .rateLimited)
        /// The broker's own store failed (HTTP 500).
        public static let storeUnavailable = Code(kind: .storeUnavailable)
        /// The audit row could not be written, so the request was refused (HTTP 500).
        public static let auditFailure = Code(kind: .auditFailure)
        /// A bug or unexpected state (HTTP 500).
        public static let internalError = Code(kind: .internalError)
        /// A target database did not answer in time or could not be reached (HTTP 500, as Vault answers).
        public static let targetUnavailable = Code(kind: .targetUnavailable)
        /// The request's content type is not acceptable for its method (HTTP 415).
        public static let unsupportedMediaType = Code(kind: .unsupportedMediaType)

        /// A stable, secret-free name for the code, used as the audit row's error class.
        public var description: String { kind.rawValue }
    }

    /// The class of failure.
    public var code: Code
    /// A message that is safe to return to the caller and to store in audit rows.
    public var message: String
    /// The underlying error, for logs only.
    public var underlying: (any Error & Sendable)?

    /// Creates an error with a caller-safe message.
    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public static func == (lhs: LeaseholdError, rhs: LeaseholdError) -> Bool { lhs.code == rhs.code }

    public var description: String { message.isEmpty ? code.description : message }

    /// The caller presented no valid token or lacks the capability.
    public static let permissionDenied = LeaseholdError(.permissionDenied, "permission denied")
    /// The broker is sealed; clients match this exact text.
    public static let sealed = LeaseholdError(.sealed, "Vault is sealed")
    /// A read found nothing.
    public static let notFound = LeaseholdError(.notFound, "")
    /// The operation is not supported on the path.
    public static let unsupportedOperation = LeaseholdError(.unsupportedOperation, "unsupported operation")

    /// A request failed validation.
    public static func invalidRequest(_ message: String) -> LeaseholdError { LeaseholdError(.invalidRequest, message) }
}
