import ArgumentParser
import Foundation
import LeaseholdCore
import LeaseholdRoles

/// `leasehold creds ROLE`: reads `<mount>/creds/ROLE` and prints the credential.
struct CredsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "creds", abstract: "Get a database credential for a role.",
        discussion: "-format=env prints LEASEHOLD_DB_USERNAME, LEASEHOLD_DB_PASSWORD and LEASEHOLD_LEASE_ID lines for `eval`.")
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("mount"), help: "The database engine mount.") var mount = "database"
    @Option(name: .customLong("request-key"), help: "An idempotency key: the same key returns the same credential.")
    var requestKey: String?
    @Flag(name: .customLong("env"), help: "Print shell variable assignments.") var asEnvironment = false
    @Argument var role: String

    func run() async throws {
        let reply = try await options.makeClient().send(
            "GET", "\(mount)/creds/\(role)", headers: requestKey.map { ["X-Request-Key": $0] } ?? [:])
        guard asEnvironment else { return OutputPrinter.show(reply, format: options.format) }
        let data = reply.data ?? [:]
        for (name, value) in [
            ("LEASEHOLD_DB_USERNAME", data["username"]?.stringValue), ("LEASEHOLD_DB_PASSWORD", data["password"]?.stringValue),
            ("LEASEHOLD_LEASE_ID", reply.body?.objectValue?["lease_id"]?.stringValue),
        ] {
            print("export \(name)='\((value ?? "").replacingOccurrences(of: "'", with: "'\\''"))'")
        }
    }
}

/// `leasehold lease lookup|renew|revoke|list`.
struct LeaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lease", abstract: "Inspect, renew and revoke leases.",
        subcommands: [Lookup.self, Renew.self, Revoke.self, List.self])

    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lookup", abstract: "Show a lease.")
        @OptionGroup var options: ClientOptions
        @Argument var leaseID: String

        func run() async throws {
            OutputPrinter.show(try await options.makeClient().send("PUT", "sys/leases/lookup", body: ["lease_id": .string(leaseID)]), format: options.format)
        }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "renew", abstract: "Renew a lease.")
        @OptionGroup var options: ClientOptions
        @Option(name: .customLong("increment")) var increment: String?
        @Argument var leaseID: String

        func run() async throws {
            var body: [String: JSONValue] = ["lease_id": .string(leaseID)]
            if let increment { body["increment"] = .string(increment) }
            OutputPrinter.show(try await options.makeClient().send("PUT", "sys/leases/renew", body: body), format: options.format)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a lease, or every lease under a prefix.")
        @OptionGroup var options: ClientOptions
        @Flag(name: .customLong("prefix"), help: "Treat the argument as a prefix.") var prefix = false
        @Flag(name: .customLong("force"), help: "With -prefix: forget the leases without revoking (the users stay!).") var force = false
        @Argument var leaseID: String

        func run() async throws {
            let client = try options.makeClient()
            if prefix {
                let count = try await client.send("LIST", "sys/leases/lookup/\(leaseID)", allowedStatuses: [404])
                let total = count.data?["keys"].flatMap { value -> Int? in if case .array(let items) = value { items.count } else { nil } } ?? 0
                print("Revoking leases under \(leaseID) (\(total) entries at the first level)...")
                _ = try await client.send("PUT", "sys/leases/\(force ? "revoke-force" : "revoke-prefix")/\(leaseID)", body: ["sync": true])
                print(force ? "Success! Forgot the leases (their database users were not revoked)." : "Success! Revoked the leases.")
            } else {
                _ = try await client.send("PUT", "sys/leases/revoke", body: ["lease_id": .string(leaseID), "sync": true])
                print("Success! Revoked lease: \(leaseID)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List lease ids under a prefix.")
        @OptionGroup var options: ClientOptions
        @Argument var prefix: String = ""

        func run() async throws {
            let reply = try await options.makeClient().send("LIST", "sys/leases/lookup/\(prefix)", allowedStatuses: [404])
            if options.format == .json { return OutputPrinter.printJSON(reply.data?["keys"] ?? .array([])) }
            if case .array(let keys)? = reply.data?["keys"] { for key in keys { print(key.stringValue ?? "") } }
        }
    }
}

/// `leasehold roles apply|validate|list`.
struct RolesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roles", abstract: "Manage role templates (YAML files).", subcommands: [Apply.self, Validate.self, List.self])

    static func templates(_ paths: [String]) throws -> [RoleTemplate] {
        try paths.flatMap { path -> [RoleTemplate] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ClientError(message: "\(path): no such file or directory")
            }
            return isDirectory.boolValue ? try RoleTemplateParser.parse(directory: path) : [try RoleTemplateParser.parse(contentsOf: path)]
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "apply", abstract: "Write role templates to the server.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Files or directories of *.yaml templates.") var paths: [String]

        func run() async throws {
            let client = try options.makeClient()
            let templates = try RolesCommand.templates(paths)
            for (index, template) in templates.enumerated() {
                let reply = try await client.send("POST", "\(template.mount)/roles/\(template.name)", body: template.apiFields)
                print("[\(index + 1)/\(templates.count)] applied \(template.mount)/roles/\(template.name) from \(template.sourceFile)")
                if case .array(let warnings)? = reply.body?.objectValue?["warnings"] {
                    for warning in warnings { print("  warning: \(warning.stringValue ?? "")") }
                }
            }
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate", abstract: "Check templates: parsing, placeholders, and a dry run on the real target.",
            discussion: "The dry run asks the server to create and revoke the user inside a transaction that is rolled back. Use -offline to skip it.")
        @OptionGroup var options: ClientOptions
        @Flag(name: .customLong("offline"), help: "Only parse and check the files.") var offline = false
        @Argument var paths: [String]

        func run() async throws {
            var failed = false
            for path in paths {
                let templates: [RoleTemplate]
                do {
                    templates = try RolesCommand.templates([path])
                } catch {
                    print("✘ \(error)")
                    failed = true
                    continue
                }
                for template in templates {
                    for warning in TemplateCheck.warnings(for: template.creationStatements) { print("! \(template.sourceFile): \(warning)") }
                    if offline {
                        print("✔ \(template.sourceFile): parses (\(template.mount)/roles/\(template.name))")
                        continue
                    }
                    do {
                        let reply = try await options.makeClient().send("POST", "\(template.mount)/validate-role", body: template.apiFields.merging(["name": .string(template.name)]) { a, _ in a })
                        print("✔ \(template.sourceFile): dry run on connection \(template.connection) succeeded")
                        if case .array(let warnings)? = reply.body?.objectValue?["warnings"] {
                            for warning in warnings { print("! \(template.sourceFile): \(warning.stringValue ?? "")") }
                        }
                    } catch {
                        print("✘ \(template.sourceFile): \(error)")
                        failed = true
                    }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the roles of a mount.")
        @OptionGroup var options: ClientOptions
        @Option(name: .customLong("mount")) var mount = "database"

        func run() async throws {
            let reply = try await options.makeClient().send("LIST", "\(mount)/roles", allowedStatuses: [404])
            if options.format == .json { return OutputPrinter.printJSON(reply.data?["keys"] ?? .array([])) }
            if case .array(let keys)? = reply.data?["keys"] { for key in keys { print(key.stringValue ?? "") } }
        }
    }
}

/// `leasehold reconcile [-dry-run]`.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile", abstract: "Revoke managed database users that have no live lease.")
    @OptionGroup var options: ClientOptions
    @Flag(name: .customLong("dry-run"), help: "Report without revoking.") var dryRun = false

    func run() async throws {
        let reply = try await options.makeClient().send("PUT", "sys/leases/reconcile", body: ["dry_run": .bool(dryRun)])
        if options.format == .json { return OutputPrinter.printJSON(reply.body ?? .null) }
        let data = reply.data ?? [:]
        print("connections examined: \(OutputPrinter.render(data["connections"] ?? 0)), managed users: \(OutputPrinter.render(data["managed_users"] ?? 0))")
        if case .array(let orphans)? = data["orphans"] {
            print(orphans.isEmpty ? "no orphaned users" : "orphaned users:")
            for orphan in orphans {
                let fields = orphan.objectValue ?? [:]
                print("  \(fields["connection"]?.stringValue ?? "") \(fields["username"]?.stringValue ?? ""): \(fields["action"]?.stringValue ?? "")")
            }
        }
        if case .object(let unreachable)? = data["unreachable"], !unreachable.isEmpty {
            for (connection, reason) in unreachable { print("  unreachable \(connection): \(reason.stringValue ?? "")") }
        }
    }
}
