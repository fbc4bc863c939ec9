import LeaseholdCore
import PostgresNIO

/// Runs one call to the PostgreSQL store within `timeout`, connection wait included: PostgresNIO's pool retries an
/// unreachable server (or one whose certificate does not verify) without end, and callers must not wait with it.
///
/// What callers get (``storeFailure(_:_:)``): on expiry ``LeaseholdCore/LeaseholdError/Code/storeUnavailable`` with
/// `failure` (a write that expires has an unknown outcome, like any write whose answer was lost); the call's own
/// `LeaseholdError`s and cancellation as they are, also from inside a transaction; any other (driver) failure as
/// `storeUnavailable` with `failure`, the driver's error kept only as the underlying error for logs.
func withStoreDeadline<T: Sendable>(
    _ timeout: Duration, _ failure: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    do {
        return try await withDeadline(
            timeout, timeoutError: LeaseholdError(.storeUnavailable, "\(failure): no answer within \(timeout)"),
            operation: body)
    } catch {
        throw storeFailure(error, failure)
    }
}

/// The error a caller of the store sees for `error` (see ``withStoreDeadline(_:_:_:)``).
func storeFailure(_ error: any Error, _ failure: String) -> any Error {
    switch error {
    case is LeaseholdError, is CancellationError:
        return error
    case let transactionError as PostgresTransactionError:
        if let closureError = transactionError.closureError,
            closureError is LeaseholdError || closureError is CancellationError
        {
            return closureError
        }
        return LeaseholdError(.storeUnavailable, failure, underlying: error)
    default:
        return LeaseholdError(.storeUnavailable, failure, underlying: error)
    }
}
