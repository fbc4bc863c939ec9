import LeaseholdCore

/// A destination for committed audit rows: a file, a syslog or socket receiver, a webhook.
///
/// ``AuditSinkRunner`` calls ``deliver(_:)`` with consecutive rows in sequence order and advances the device's
/// cursor only past the rows the sink reports as acknowledged, so a sink must never claim a row it has not handed
/// over (and must not hold a row back for later: whatever it does not acknowledge is offered again).
public protocol AuditSink: Sendable {
    /// Delivers `records` in order. Returns when all were acknowledged by the destination; otherwise throws
    /// ``AuditDeliveryFailure`` saying how many leading records were acknowledged before the failure.
    func deliver(_ records: [AuditRecord]) async throws(AuditDeliveryFailure)

    /// Reopens the destination (files, after log rotation); others ignore it.
    func reopen() async

    /// Releases connections and handles. The sink is not used afterwards.
    func close() async
}

extension AuditSink {
    /// Nothing to reopen.
    public func reopen() async {}
}

/// A failed delivery: the first `delivered` records were acknowledged, the rest were not.
///
/// The reason is a short, secret-free phrase for logs ("connection refused", "HTTP status 503").
public struct AuditDeliveryFailure: Error, Sendable, CustomStringConvertible {
    /// How many leading records were acknowledged before the failure.
    public var delivered: Int
    /// What went wrong, safe to log.
    public var reason: String

    /// Creates a failure.
    public init(delivered: Int, reason: String) {
        self.delivered = delivered
        self.reason = reason
    }

    /// The reason.
    public var description: String { reason }
}
