import ArgumentParser
import Foundation
import LeaseholdCore

/// `leasehold status`: seal status; exits 2 when sealed, as Vault does.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Print the seal status.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let reply = try await options.makeClient().send("GET", "sys/seal-status")
        let body = reply.body?.objectValue ?? [:]
        if options.format == .json { OutputPrinter.printJSON(reply.body ?? .null) } else {
            OutputPrinter.table(body.filter { ["type", "initialized", "sealed", "t", "n", "progress", "version", "storage_type", "cluster_name", "cluster_id"].contains($0.key) })
        }
        if body["sealed"] == .bool(true) { throw ExitCode(2) }
    }
}

/// `leasehold operator init|unseal|seal|rotate`.
struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Initialize, unseal, seal and rotate the broker.",
        subcommands: [Init.self, Unseal.self, Seal.self, Rotate.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "init", abstract: "Initialize the broker.")
        @OptionGroup var options: ClientOptions
        @Option(name: .customLong("key-shares")) var keyShares = 5
        @Option(name: .customLong("key-threshold")) var keyThreshold = 3

        func run() async throws {
            let reply = try await options.makeClient().send(
                "PUT", "sys/init", body: ["secret_shares": .int(keyShares), "secret_threshold": .int(keyThreshold)])
            if options.format == .json { return OutputPrinter.printJSON(reply.body ?? .null) }
            let body = reply.body?.objectValue ?? [:]
            if case .array(let keys)? = body["keys_base64"] {
                for (index, key) in keys.enumerated() { print("Unseal Key \(index + 1): \(key.stringValue ?? "")") }
            }
            print("\nInitial Root Token: \(body["root_token"]?.stringValue ?? "")")
            print("\nLeasehold initialized with \(keyShares) key shares and a key threshold of \(keyThreshold).")
        }
    }

    struct Unseal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unseal", abstract: "Submit one unseal key share.")
        @OptionGroup var options: ClientOptions
        @Flag(name: .customLong("reset")) var reset = false
        @Argument var key: String?

        func run() async throws {
            var body: [String: JSONValue] = ["reset": .bool(reset)]
            if !reset {
                let share = key ?? readLine(strippingNewline: true) ?? ""
                body["key"] = .string(share)
            }
            let reply = try await options.makeClient().send("PUT", "sys/unseal", body: body)
            if options.format == .json { return OutputPrinter.printJSON(reply.body ?? .null) }
            OutputPrinter.table((reply.body?.objectValue ?? [:]).filter { ["sealed", "t", "n", "progress", "nonce"].contains($0.key) })
        }
    }

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "seal", abstract: "Seal the broker.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            _ = try await options.makeClient().send("PUT", "sys/seal")
            print("Success! Leasehold is sealed.")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rotate", abstract: "Add a new data-key term.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.makeClient()
            _ = try await client.send("PUT", "sys/rotate")
            let status = try await client.send("GET", "sys/key-status")
            print("Success! Rotated key\n")
            OutputPrinter.table(status.data ?? [:])
        }
    }
}
