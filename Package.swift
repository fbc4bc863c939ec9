// swift-tools-version:6.1
import PackageDescription

let settings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "leasehold",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "leasehold", targets: ["leasehold"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["ConfigurationSupport"]),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Vocabulary and ports: no I/O, no heavy dependencies.
        .target(
            name: "LeaseholdCore",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: settings
        ),
        // HCL/JSON configuration language parser (pure).
        .target(name: "LeaseholdHCL", swiftSettings: settings),
        // Vault ACL policies: parsing and evaluation (pure).
        .target(name: "LeaseholdPolicy", dependencies: ["LeaseholdCore", "LeaseholdHCL"], swiftSettings: settings),
        // Shamir secret sharing, AES-256-GCM key ring, keyed hashing.
        .target(
            name: "LeaseholdSeal",
            dependencies: [
                "LeaseholdCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: settings
        ),
        // The audit hash chain: record hashing and verification, shared by both stores and the auditor tools.
        .target(
            name: "LeaseholdAuditChain",
            dependencies: ["LeaseholdCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: settings
        ),
        // SQL migrations of the broker's own store, one folder per backend.
        .target(name: "LeaseholdMigrations", path: "Migrations", resources: [.copy("sqlite"), .copy("postgres")]),
        .target(
            name: "LeaseholdStoreSQLite",
            dependencies: ["LeaseholdCore", "LeaseholdMigrations", "LeaseholdAuditChain", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: settings
        ),
        .target(
            name: "LeaseholdStorePostgres",
            dependencies: [
                "LeaseholdCore", "LeaseholdMigrations", "LeaseholdAuditChain", "LeaseholdPostgresTLS",
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: settings
        ),
        // TLS to a PostgreSQL server (sslmode and PEM material to NIOSSL), shared by the store and the engine.
        .target(
            name: "LeaseholdPostgresTLS",
            dependencies: ["LeaseholdCore", .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: settings
        ),
        // The PostgreSQL target-database engine: dynamic users on a target server.
        .target(
            name: "LeaseholdEnginePostgres",
            dependencies: [
                "LeaseholdCore", "LeaseholdPostgresTLS",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: settings
        ),
        // DBA role templates: YAML files in Roles/, parsed and checked without touching a database.
        .target(
            name: "LeaseholdRoles",
            dependencies: ["LeaseholdCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: settings
        ),
        // Workload identity verification: client certificates (swift-certificates), JWTs and JWKS (jwt-kit),
        // and the outbound HTTPS calls to identity providers (JWKS, OIDC discovery, Kubernetes TokenReview).
        .target(
            name: "LeaseholdAuth",
            dependencies: [
                "LeaseholdCore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: settings
        ),
        // Use cases: seal lifecycle, tokens, policies, mounts, audit.
        .target(
            name: "LeaseholdService",
            dependencies: [
                "LeaseholdCore", "LeaseholdPolicy", "LeaseholdSeal", "LeaseholdRoles", "LeaseholdAuth", "LeaseholdAuditChain",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: settings
        ),
        // Server configuration files (HCL/JSON).
        .target(name: "LeaseholdConfig", dependencies: ["LeaseholdCore", "LeaseholdHCL"], swiftSettings: settings),
        // Vault-compatible HTTP API.
        .target(
            name: "LeaseholdHTTP",
            dependencies: [
                "LeaseholdService",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings
        ),
        // Audit sinks: committed audit rows to files, syslog and socket receivers, and webhooks.
        .target(
            name: "LeaseholdAuditSinks",
            dependencies: [
                "LeaseholdCore", "LeaseholdService",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "leasehold",
            dependencies: [
                "LeaseholdHTTP", "LeaseholdService", "LeaseholdConfig", "LeaseholdSeal", "LeaseholdRoles",
                "LeaseholdStoreSQLite", "LeaseholdStorePostgres", "LeaseholdEnginePostgres", "LeaseholdAuditChain",
                "LeaseholdAuditSinks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: settings
        ),
        .target(
            name: "LeaseholdTestSupport",
            dependencies: [
                "LeaseholdCore", "LeaseholdStoreSQLite", "LeaseholdStorePostgres",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/LeaseholdTestSupport",
            swiftSettings: settings
        ),
        .testTarget(name: "LeaseholdHCLTests", dependencies: ["LeaseholdHCL"], swiftSettings: settings),
        .testTarget(name: "LeaseholdPolicyTests", dependencies: ["LeaseholdPolicy"], swiftSettings: settings),
        .testTarget(name: "LeaseholdSealTests", dependencies: ["LeaseholdSeal"], swiftSettings: settings),
        .testTarget(name: "LeaseholdConfigTests", dependencies: ["LeaseholdConfig"], swiftSettings: settings),
        .testTarget(name: "LeaseholdRolesTests", dependencies: ["LeaseholdRoles"], swiftSettings: settings),
        .testTarget(
            name: "LeaseholdAuthTests",
            dependencies: [
                "LeaseholdAuth", "LeaseholdCore", "LeaseholdTestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "LeaseholdPostgresTLSTests",
            dependencies: ["LeaseholdPostgresTLS", "LeaseholdTestSupport", .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: settings
        ),
        .testTarget(
            name: "LeaseholdEnginePostgresTests",
            dependencies: ["LeaseholdEnginePostgres", "LeaseholdTestSupport"],
            swiftSettings: settings
        ),
        .testTarget(
            name: "LeaseholdStoreTests",
            dependencies: [
                "LeaseholdStoreSQLite", "LeaseholdStorePostgres", "LeaseholdTestSupport", "LeaseholdAuditChain",
                "LeaseholdMigrations", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "LeaseholdHTTPTests",
            dependencies: [
                "LeaseholdHTTP", "LeaseholdService", "LeaseholdAuditChain", "LeaseholdTestSupport", "LeaseholdStoreSQLite",
                "LeaseholdEnginePostgres", "LeaseholdAuth", "LeaseholdAuditSinks",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings
        ),
    ]
)
