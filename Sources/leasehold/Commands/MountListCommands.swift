import ArgumentParser
import Foundation
import LeaseholdCore

/// `leasehold secrets list` and `leasehold auth list`: mounts with their type and environment, optionally only
/// those of one environment.
struct MountListing {
    let options: ClientOptions
    let environment: String?
    let auth: Bool

    func run() async throws {
        let query = environment.map { KeyValueArguments.query(["environment": .string($0)]) } ?? ""
        let reply = try await options.makeClient().send("GET", (auth ? "sys/auth" : "sys/mounts") + query)
        let mounts = reply.data ?? [:]
        if options.format == .json { return OutputPrinter.printJSON(.object(mounts)) }
        let rows = mounts.keys.sorted().map { path -> [String] in
            let mount = mounts[path]?.objectValue ?? [:]
            return [
                path, mount["type"]?.stringValue ?? "", mount["environment"]?.stringValue ?? "",
                mount["accessor"]?.stringValue ?? "", mount["description"]?.stringValue ?? "",
            ]
        }
        let header = ["Path", "Type", "Environment", "Accessor", "Description"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header, widths.map { String(repeating: "-", count: $0) }] + rows {
            print(row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "    "))
        }
    }
}

/// `leasehold secrets …`.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Inspect secrets engine mounts.", subcommands: [SecretsListCommand.self])
}

/// `leasehold secrets list [-environment=E]`.
struct SecretsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List secrets engine mounts.")
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("environment"), help: "Only mounts of this environment.") var environment: String?

    func run() async throws {
        try await MountListing(options: options, environment: environment, auth: false).run()
    }
}

/// `leasehold auth …`.
struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth", abstract: "Inspect auth method mounts.", subcommands: [AuthListCommand.self])
}

/// `leasehold auth list [-environment=E]`.
struct AuthListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List auth method mounts.")
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("environment"), help: "Only mounts of this environment.") var environment: String?

    func run() async throws {
        try await MountListing(options: options, environment: environment, auth: true).run()
    }
}
