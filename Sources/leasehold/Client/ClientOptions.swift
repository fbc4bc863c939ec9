import ArgumentParser
import Foundation
import LeaseholdCore

/// Connection options shared by every client command, with Vault's environment fallbacks.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("address"), help: "The server's address (LEASEHOLD_ADDR, then VAULT_ADDR).")
    var address: String?

    @Option(name: .customLong("ca-cert"), help: "PEM file of CAs to verify the server (LEASEHOLD_CACERT, VAULT_CACERT).")
    var caCertificate: String?

    @Option(name: .customLong("client-cert"), help: "PEM client certificate for mTLS (LEASEHOLD_CLIENT_CERT).")
    var clientCertificate: String?

    @Option(name: .customLong("client-key"), help: "PEM client private key for mTLS (LEASEHOLD_CLIENT_KEY).")
    var clientKey: String?

    @Flag(name: .customLong("tls-skip-verify"), help: "Do not verify the server's certificate (unsafe).")
    var skipVerify = false

    @Option(name: .customLong("format"), help: "Output format: table or json (audit listings also csv, jsonl).")
    var format: OutputFormat = .table

    /// The resolved server address.
    var resolvedAddress: String {
        address ?? Self.environment("LEASEHOLD_ADDR", "VAULT_ADDR") ?? "https://127.0.0.1:8200"
    }

    /// The token from LEASEHOLD_TOKEN, VAULT_TOKEN, or the file written by `leasehold login`.
    var token: String? {
        if let token = Self.environment("LEASEHOLD_TOKEN", "VAULT_TOKEN") { return token }
        guard let data = FileManager.default.contents(atPath: Self.tokenFilePath) else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingWhitespace()
        return token.isEmpty ? nil : token
    }

    /// Where `leasehold login` stores the token (mode 0600).
    static var tokenFilePath: String {
        (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + "/.leasehold-token"
    }

    static func environment(_ names: String...) -> String? {
        for name in names {
            if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { return value }
        }
        return nil
    }

    /// A client for the configured address and TLS settings, sending the stored or given token.
    func makeClient() throws -> APIClient {
        try makeClient(token: token)
    }

    /// A client that sends `token` (none when `nil`) instead of the configured one.
    func makeClient(token: String?) throws -> APIClient {
        try APIClient(
            address: resolvedAddress, token: token,
            caCertificate: caCertificate ?? Self.environment("LEASEHOLD_CACERT", "VAULT_CACERT"),
            clientCertificate: clientCertificate ?? Self.environment("LEASEHOLD_CLIENT_CERT", "VAULT_CLIENT_CERT"),
            clientKey: clientKey ?? Self.environment("LEASEHOLD_CLIENT_KEY", "VAULT_CLIENT_KEY"),
            skipVerify: skipVerify)
    }
}

/// How client commands print results. `csv` and `jsonl` apply to record listings (`audit list`, `audit export`);
/// other commands print them as a table.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
    case csv
    case jsonl
}
