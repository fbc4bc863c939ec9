import LeaseholdCore

/// Runs one call to the PostgreSQL store within `timeout`, connection wait included: PostgresNIO's pool retries an
/// unreachable server (or one whose certificate does not verify) without end, and callers must not wait with it.
/// On expiry the caller gets ``LeaseholdCore/LeaseholdError/Code/storeUnavailable`` with `failure`; a write that
/// expires has an unknown outcome, like any write whose answer was lost.
func withStoreDeadline<T: Sendable>(
    _ timeout: Duration, _ failure: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withDeadline(
        timeout, timeoutError: LeaseholdError(.storeUnavailable, "\(failure): no answer within \(timeout)"), operation: body)
}
