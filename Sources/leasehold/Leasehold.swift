import ArgumentParser
import Foundation

/// The `leasehold` command: the server and a Vault-style client.
@main
struct Leasehold: AsyncParsableCommand {
    /// The release version.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "leasehold",
        abstract: "Leasehold: a dynamic database credential broker that speaks the Vault API.",
        version: "Leasehold v\(version)",
        subcommands: [
            ServerCommand.self, VersionCommand.self, StatusCommand.self, OperatorCommand.self, LoginCommand.self,
            TokenCommand.self, PolicyCommand.self, ReadCommand.self, WriteCommand.self, ListCommand.self,
            DeleteCommand.self, SecretsCommand.self, AuthCommand.self, AuditCommand.self, CredsCommand.self, LeaseCommand.self, RolesCommand.self, ReconcileCommand.self,
            DebugStoreWriterCommand.self,
        ])

    /// Accepts Vault's single-dash long flags (`-config=FILE`, `-dev`, `-format=json`) by rewriting them to
    /// the double-dash form before parsing. Short flags (`-h`) and lone dashes are left alone.
    static func normalize(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var passThrough = false
        for argument in arguments {
            if passThrough || argument == "--" {
                passThrough = true
                result.append(argument)
                continue
            }
            if argument.hasPrefix("-"), !argument.hasPrefix("--"), argument.count > 2,
                let second = argument.dropFirst().first, second.isLetter
            {
                result.append("-" + argument)
            } else {
                result.append(argument)
            }
        }
        return result
    }

    static func main() async {
        let arguments = normalize(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// `leasehold version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("Leasehold v\(Leasehold.version)")
    }
}
