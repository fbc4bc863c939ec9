/// Runs an operation again, after a short random pause, while it fails with a transient target error
/// (see ``TargetDatabaseFailure/isTransient``).
enum TransientRetry {
    /// The most attempts, including the first.
    static let maximumAttempts = 6

    /// Runs `operation` up to ``maximumAttempts`` times; other errors and the last transient one are rethrown.
    static func run<Result: Sendable>(_ operation: () async throws -> Result) async throws -> Result {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                guard attempt < maximumAttempts, TargetDatabaseFailure(error).isTransient else { throw error }
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...(20 * attempt))))
                attempt += 1
            }
        }
    }
}
