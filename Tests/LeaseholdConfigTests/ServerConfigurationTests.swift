import Foundation
import LeaseholdCore
import Testing

@testable import LeaseholdConfig

@Suite("Server configuration")
struct ServerConfigurationTests {
    private static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func parseError(_ text: String, filename: String = "config.hcl") throws -> String {
        let error = try #require(throws: LeaseholdError.self) {
            try ServerConfiguration.parse(text: text, filename: filename)
        }
        #expect(error.code == .invalidRequest)
        return error.message
    }

    @Test func minimalHCLUsesDefaults() throws {
        let configuration = try ServerConfiguration.parse(
            text: """
                storage "inmem" {}
                listener "tcp" { tls_disable = true }
                """
        )
        #expect(configuration.storage == .inMemory)
        #expect(configuration.listeners == [ListenerConfiguration(address: "127.0.0.1:8200", tls: nil)])
        #expect(configuration.listeners[0].maximumRequestSize == 32 * 1024 * 1024)
        #expect(configuration.seal == nil)
        #expect(configuration.defaultLeaseTTL == TTL(seconds: 768 * 3600))
        #expect(configuration.maxLeaseTTL == TTL(seconds: 768 * 3600))
        #expect(!configuration.disableMlock)
        #expect(configuration.warnings == [#"listener "127.0.0.1:8200": TLS is disabled"#])
    }

    /// 0 means the default lease TTLs, as in Vault; before, it meant tokens without an expiry.
    @Test func zeroLeaseTTLsMeanTheDefault() throws {
        let base = "storage \"inmem\" {}\nlistener \"tcp\" { tls_disable = true }\n"
        for zeros in ["default_lease_ttl = 0\n", "max_lease_ttl = \"0s\"\n", "default_lease_ttl = \"0\"\nmax_lease_ttl = 0\n"] {
            let configuration = try ServerConfiguration.parse(text: base + zeros)
            #expect(configuration.defaultLeaseTTL == ServerConfiguration.defaultLeaseTTLLimit)
            #expect(configuration.maxLeaseTTL == ServerConfiguration.defaultLeaseTTLLimit)
        }
    }

    @Test func loginFailureLimitsAreConfigurable() throws {
        let base = "storage \"inmem\" {}\nlistener \"tcp\" { tls_disable = true }\n"
        let defaults = try ServerConfiguration.parse(text: base)
        #expect(defaults.loginFailureLimit == 10 && defaults.loginFailureWindow == TTL(seconds: 300))
        let custom = try ServerConfiguration.parse(text: base + "login_failure_limit = 3\nlogin_failure_window = \"30s\"\n")
        #expect(custom.loginFailureLimit == 3 && custom.loginFailureWindow == TTL(seconds: 30))
        #expect(try parseError(base + "login_failure_limit = 0\n").contains("login_failure_limit"))
        #expect(try parseError(base + "login_failure_window = \"0s\"\n").contains("login_failure_window"))
    }

    @Test func clientCertificateRequestsCanBeDisabledButNotMixedWithAClientCA() throws {
        let listener = { (extra: String) in
            "storage \"inmem\" {}\nlistener \"tcp\" {\n tls_cert_file = \"c.pem\"\n tls_key_file = \"k.pem\"\n\(extra)\n}\n"
        }
        #expect(try ServerConfiguration.parse(text: listener("")).listeners[0].tls?.requestsClientCertificates == true)
        #expect(try ServerConfiguration.parse(text: listener("tls_disable_client_certs = true")).listeners[0].tls?.requestsClientCertificates == false)
        #expect(try parseError(listener("tls_disable_client_certs = true\n tls_client_ca_file = \"ca.pem\"")).contains("tls_disable_client_certs"))
    }

    @Test func fullHCL() throws {
        let configuration = try ServerConfiguration.parse(
            text: """
                backend "sqlite" { path = "/data" }
                listener "tcp" {
                  address = "0.0.0.0:8200"
                  tls_cert_file = "c.pem"
                  tls_key_file = "k.pem"
                  tls_client_ca_file = "ca.pem"
                  tls_require_and_verify_client_cert = "true"
                  tls_min_version = "tls13"
                  max_request_size = "1024"
                  http_idle_timeout = "2m"
                  http_read_timeout = 45
                  max_connections = 500
                }
                listener "tcp" {
                  address = "127.0.0.1:8201"
                  tls_disable = "1"
                }
                seal "keyfile" { path = "/keys/unseal" }
                default_lease_ttl = 3600
                max_lease_ttl = "2h"
                api_addr = "https://a:8200"
                disable_mlock = 1
                log_level = "DEBUG"
                roles_directory = "/roles"
                """
        )
        #expect(configuration.storage == .sqlite(directory: "/data"))
        #expect(configuration.listeners.count == 2)
        #expect(
            configuration.listeners[0]
                == ListenerConfiguration(
                    address: "0.0.0.0:8200",
                    tls: TLSListenerConfiguration(
                        certificateFile: "c.pem",
                        keyFile: "k.pem",
                        clientCAFile: "ca.pem",
                        requiresClientCertificate: true,
                        minimumVersion: .tls13
                    ),
                    maximumRequestSize: 1024,
                    idleTimeout: TTL(seconds: 120),
                    readTimeout: TTL(seconds: 45),
                    maximumConnections: 500
                )
        )
        #expect(configuration.listeners[1].tls == nil)
        #expect(configuration.listeners[1].idleTimeout == TTL(seconds: 30))
        #expect(configuration.listeners[1].readTimeout == TTL(seconds: 30))
        #expect(configuration.listeners[1].maximumConnections == nil)
        #expect(configuration.seal == .keyFile(path: "/keys/unseal"))
        #expect(configuration.defaultLeaseTTL == TTL(seconds: 3600))
        #expect(configuration.maxLeaseTTL == TTL(seconds: 7200))
        #expect(configuration.apiAddress == "https://a:8200")
        #expect(configuration.disableMlock)
        #expect(configuration.logLevel == "debug")
        #expect(configuration.rolesDirectory == "/roles")
    }

    @Test func jsonWithListenerObjectAndList() throws {
        let single = try ServerConfiguration.parse(
            text: #"""
                {"storage": {"postgresql": {"connection_url": "postgres://x"}},
                 "listener": {"tcp": {"address": "a:1", "tls_disable": true}}}
                """#,
            filename: "c.json"
        )
        #expect(single.storage == .postgresql(connectionURL: "postgres://x"))
        #expect(single.listeners.map(\.address) == ["a:1"])
        let list = try ServerConfiguration.parse(
            text: #"""
                {"backend": {"inmem": {}},
                 "listener": [{"tcp": {"address": "a:1", "tls_disable": 1}}, {"tcp": {"address": "b:2", "tls_disable": "true"}}],
                 "seal": {"shamir": {}}}
                """#
        )
        #expect(list.listeners.map(\.address) == ["a:1", "b:2"])
        #expect(list.seal == .shamir)
    }

    @Test func unknownKeysAreWarningsNotErrors() throws {
        let configuration = try ServerConfiguration.parse(
            text: """
                storage "sqlite" {
                  path = "/d"
                  journal = "wal"
                }
                listener "tcp" {
                  tls_disable = true
                  proxy_protocol_behavior = "allow_authorized"
                }
                telemetry { prometheus_retention_time = "30s" }
                cluster_name = "c1"
                cluster_addr = "https://c:8201"
                ui = true
                """
        )
        #expect(
            configuration.warnings == [
                #"storage "sqlite": unknown configuration key "journal" ignored"#,
                #"listener "127.0.0.1:8200": TLS is disabled"#,
                #"listener "tcp": unknown configuration key "proxy_protocol_behavior" ignored"#,
                "ui is not supported and was ignored",
                "cluster_addr was ignored: clustering is not supported",
                #"unknown configuration key "telemetry" ignored"#,
                #"unknown configuration key "cluster_name" ignored"#,
            ]
        )
    }

    @Test(arguments: [
        ("listener \"tcp\" { tls_disable = true }", "configuration config.hcl: a storage block is required"),
        (
            "storage \"inmem\" {}\nbackend \"inmem\" {}",
            "configuration config.hcl: exactly one storage block is allowed, found 2"
        ),
        (
            "storage \"consul\" {}",
            #"configuration config.hcl: unsupported storage type "consul" (supported: sqlite, postgresql, inmem)"#
        ),
        ("storage \"sqlite\" {}", #"configuration config.hcl: storage "sqlite": path is required"#),
        ("storage \"postgresql\" {}", #"configuration config.hcl: storage "postgresql": connection_url is required"#),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" {}",
            #"configuration config.hcl: listener "tcp": tls_cert_file and tls_key_file are required unless tls_disable is set"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_cert_file = \"c\" }",
            #"configuration config.hcl: listener "tcp": tls_cert_file and tls_key_file are required unless tls_disable is set"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_cert_file = \"c\"\n tls_key_file = \"k\"\n tls_min_version = \"tls11\" }",
            #"configuration config.hcl: listener "tcp": tls_min_version "tls11" is too old: TLS 1.2 is the minimum"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_cert_file = \"c\"\n tls_key_file = \"k\"\n tls_min_version = \"tls10\" }",
            #"configuration config.hcl: listener "tcp": tls_min_version "tls10" is too old: TLS 1.2 is the minimum"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_cert_file = \"c\"\n tls_key_file = \"k\"\n tls_min_version = \"ssl3\" }",
            #"configuration config.hcl: listener "tcp": invalid tls_min_version "ssl3" (tls12 or tls13)"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_cert_file = \"c\"\n tls_key_file = \"k\"\n tls_require_and_verify_client_cert = true }",
            #"configuration config.hcl: listener "tcp": tls_require_and_verify_client_cert needs tls_client_ca_file"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_disable = \"maybe\" }",
            #"configuration config.hcl: listener "tcp": tls_disable must be a boolean"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_disable = true\n max_request_size = -1 }",
            #"configuration config.hcl: listener "tcp": max_request_size cannot be negative: the limit cannot be disabled"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_disable = true\n http_read_timeout = 0 }",
            #"configuration config.hcl: listener "tcp": http_idle_timeout and http_read_timeout must be at least 1s: the bounds cannot be disabled"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_disable = true\n http_idle_timeout = \"0s\" }",
            #"configuration config.hcl: listener "tcp": http_idle_timeout and http_read_timeout must be at least 1s: the bounds cannot be disabled"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"tcp\" { tls_disable = true\n max_connections = 0 }",
            #"configuration config.hcl: listener "tcp": max_connections must be at least 1: the bound cannot be disabled"#
        ),
        (
            "storage \"inmem\" {}\nlistener \"unix\" {}",
            #"configuration config.hcl: unsupported listener type "unix" (supported: tcp)"#
        ),
        (
            "storage \"inmem\" {}\nseal \"awskms\" {}",
            #"configuration config.hcl: unsupported seal type "awskms" (supported: shamir, keyfile)"#
        ),
        ("storage \"inmem\" {}\nseal \"keyfile\" {}", #"configuration config.hcl: seal "keyfile": path is required"#),
        (
            "storage \"inmem\" {}\nseal \"shamir\" {}\nseal \"shamir\" {}",
            "configuration config.hcl: only one seal block is allowed"
        ),
        (
            "storage \"inmem\" {}\ndefault_lease_ttl = \"2h\"\nmax_lease_ttl = \"1h\"",
            "configuration config.hcl: default_lease_ttl (2h0m0s) cannot exceed max_lease_ttl (1h0m0s)"
        ),
        (
            "storage \"inmem\" {}\ndefault_lease_ttl = \"1000h\"",
            "configuration config.hcl: default_lease_ttl (1000h0m0s) cannot exceed max_lease_ttl (768h0m0s)"
        ),
        (
            "storage \"inmem\" {}\nmax_lease_ttl = \"1d\"",
            "configuration config.hcl: invalid duration for max_lease_ttl"
        ),
        ("storage \"inmem\" {}\nlog_level = \"loud\"", #"configuration config.hcl: invalid log_level "loud""#),
        ("storage \"inmem\" {}\napi_addr = [\"x\"]", "configuration config.hcl: api_addr must be a string"),
        (
            "storage \"inmem\" {}\napi_addr = \"a\"\napi_addr = \"b\"",
            #"configuration config.hcl: 3:1: duplicate key "api_addr""#
        ),
        ("storage = \"inmem\"", "configuration config.hcl: storage: expected a block, found a string"),
        ("storage \"inmem\" {", "configuration config.hcl: 1:18: unclosed block: expected '}'"),
    ])
    func rejects(text: String, message: String) throws {
        #expect(try parseError(text) == message)
    }

    @Test func jsonDuplicatesAndSyntaxErrorsAreReported() throws {
        #expect(
            try parseError(
                #"{"storage": {"inmem": {}}, "max_lease_ttl": "1h", "max_lease_ttl": "2h"}"#,
                filename: "s.json"
            )
                == #"configuration s.json: 1:51: duplicate key "max_lease_ttl""#
        )
        #expect(
            try parseError("storage {}", filename: "s.json")
                == "configuration s.json: 1:1: expected a JSON object, found 's'"
        )
    }

    @Test func exampleFilesParse() throws {
        let examples = Self.repositoryRoot.appendingPathComponent("docs/examples")
        let sqlite = try ServerConfiguration.load(contentsOf: examples.appendingPathComponent("server.hcl").path)
        #expect(sqlite.storage == .sqlite(directory: "/var/lib/leasehold"))
        #expect(sqlite.seal == .keyFile(path: "/etc/leasehold/unseal.key"))
        #expect(sqlite.listeners.first?.tls?.clientCAFile == "/etc/leasehold/tls/clients-ca.pem")
        #expect(sqlite.listeners.first?.tls?.requiresClientCertificate == false)
        #expect(sqlite.defaultLeaseTTL == TTL(seconds: 3600))
        #expect(sqlite.warnings.isEmpty)
        let postgres = try ServerConfiguration.load(
            contentsOf: examples.appendingPathComponent("server-postgres.json").path
        )
        #expect(
            postgres.storage
                == .postgresql(
                    connectionURL: "postgres://leasehold@db.example.internal:5432/leasehold?sslmode=verify-full"
                )
        )
        #expect(postgres.listeners.first?.tls?.minimumVersion == .tls13)
        #expect(postgres.seal == .shamir)
        #expect(postgres.maxLeaseTTL == TTL(seconds: 86400))
        #expect(postgres.warnings.isEmpty)
    }

    @Test func loadReportsUnreadableFiles() throws {
        let error = try #require(throws: LeaseholdError.self) {
            try ServerConfiguration.load(contentsOf: "/nonexistent/leasehold.hcl")
        }
        #expect(error.message == "configuration leasehold.hcl: cannot read the file")
    }
}
