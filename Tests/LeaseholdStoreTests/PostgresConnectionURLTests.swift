import LeaseholdCore
import LeaseholdStorePostgres
import Testing

@Suite("PostgreSQL store URL")
struct PostgresConnectionURLTests {
    @Test func readsHostPortUserDatabaseAsSpelled() throws {
        let configuration = try PostgresConnectionURL.configuration(
            from: "postgres://leasehold:p%40ss@[fd00::5]:6543/broker?sslmode=disable"
        )
        #expect(configuration.host == "fd00::5")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "leasehold")
        #expect(configuration.password == "p@ss")
        #expect(configuration.database == "broker")
        let punycode = try PostgresConnectionURL.configuration(from: "postgresql://leasehold@xn--fsqu00a.cn/broker")
        #expect(punycode.host == "xn--fsqu00a.cn")
        #expect(punycode.port == 5432)
    }

    @Test(arguments: [
        "mysql://leasehold@h/broker",
        "postgres://h/broker",
        "postgres://leasehold:hunter2@/broker",
        "postgres://leasehold:hunter2@db%0Ainternal/broker",
        "postgres://leasehold:hunter2@h/broker?sslmode=allow",
        "postgres://leasehold:hunter2@h/broker?sslmode=prefer",
        "postgres://leasehold:hunter2@h/broker?sslmode=verify-everything",
        "postgres://leasehold:hunter2@h/broker?sslcert=/etc/hostname",
        "postgres://leasehold:hunter2@h/broker?sslkey=/etc/hostname",
        "postgres://leasehold:hunter2@h/broker?sslrootcert=/nonexistent/ca.pem",
        "postgres://leasehold:hunter2@h/broker?sslrootcert=/etc/hostname",
        "postgres://leasehold:hunter2@h/broker?sslrootcert=/dev/null",
    ])
    func refusesMalformedURLsWithoutRepeatingThem(_ url: String) {
        let error = #expect(throws: LeaseholdError.self) { _ = try PostgresConnectionURL.configuration(from: url) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.contains("hunter2") == false)
    }
}
