import Foundation

/// What the test environment provides, read from environment variables.
public enum TestEnvironment {
    /// The PostgreSQL server for integration tests, from `LEASEHOLD_TEST_POSTGRES_URL`
    /// (for example `postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable`); `nil` disables them.
    ///
    /// The user must be allowed to create and drop databases.
    public static let postgresURL: String? = {
        guard let url = ProcessInfo.processInfo.environment["LEASEHOLD_TEST_POSTGRES_URL"], !url.isEmpty else {
            return nil
        }
        return url
    }()
}
