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

        func validate() throws {
            if force && !prefix { throw ValidationError("-force only applies with -prefix") }
        }

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

    /// The template files named by `paths`: files as given, directories expanded to their `*.yaml`/`*.yml`.
    static func files(_ paths: [String]) throws -> [String] {
        try paths.flatMap { path -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ClientError(message: "\(path): no such file or directory")
            }
            guard isDirectory.boolValue else { return [path] }
            return try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { path + "/" + $0 }
        }
    }

    static func templates(_ paths: [String]) throws -> [RoleTemplate] {
        try files(paths).map(RoleTemplateParser.parse(contentsOf:))
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "apply", abstract: "Write role templates to the server.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Files or directories of *.yaml templates.") var paths: [String]

        func run() async throws {
            let client = try options.makeClient()
            let templates = try RolesCommand.templates(paths)
            var results: [JSONValue] = []
            for (index, template) in templates.enumerated() {
                let reply = try await client.send("POST", "\(template.mount)/roles/\(template.name)", body: template.apiFields)
                let warnings = reply.body?.objectValue?["warnings"] ?? .array([])
                results.append(["file": .string(template.sourceFile), "path": .string("\(template.mount)/roles/\(template.name)"), "warnings": warnings == .null ? .array([]) : warnings])
                guard options.format == .table else { continue }
                print("[\(index + 1)/\(templates.count)] applied \(template.mount)/roles/\(template.name) from \(template.sourceFile)")
                if case .array(let items) = warnings {
                    for warning in items { print("  warning: \(warning.stringValue ?? "")") }
                }
            }
            if options.format == .json { OutputPrinter.printJSON(.array(results)) }
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
            var results: [JSONValue] = []
            for path in try RolesCommand.files(paths) {
                let templates: [RoleTemplate]
                do {
                    templates = try RolesCommand.templates([path])
                } catch {
                    let name = (path as NSString).lastPathComponent
                    var message = "\(error)"
                    if message.hasPrefix(name + ": ") { message.removeFirst(name.count + 2) }
                    results.append(["file": .string(name), "ok": false, "error": .string(message), "warnings": .array([])])
                    continue
                }
                for template in templates { results.append(await check(template)) }
            }
            if options.format == .json {
                OutputPrinter.printJSON(.array(results))
            } else {
                for result in results { printLine(result) }
            }
            if results.contains(where: { $0.objectValue?["ok"] == false }) { throw ExitCode(1) }
        }

        /// Checks one template: static warnings, then (unless offline) the server's dry run.
        private func check(_ template: RoleTemplate) async -> JSONValue {
            var warnings = TemplateCheck.warnings(for: template.creationStatements).map(JSONValue.string)
            var result: [String: JSONValue] = [
                "file": .string(template.sourceFile), "role": .string("\(template.mount)/roles/\(template.name)"), "ok": true,
            ]
            if !offline {
                do {
                    let body = template.apiFields.merging(["name": .string(template.name)]) { current, _ in current }
                    let reply = try await options.makeClient().send("POST", "\(template.mount)/validate-role", body: body)
                    if case .array(let remote)? = reply.body?.objectValue?["warnings"] {
                        warnings += remote.filter { !warnings.contains($0) }
                    }
                    result["dry_run"] = true
                } catch {
                    result["ok"] = false
                    result["error"] = .string("\(error)")
                }
            }
            result["warnings"] = .array(warnings)
            return .object(result)
        }

        private func printLine(_ result: JSONValue) {
            let fields = result.objectValue ?? [:]
            let file = fields["file"]?.stringValue ?? ""
            if fields["ok"] == false {
                print("✘ \(file): \(fields["error"]?.stringValue ?? "")")
            } else {
                print("✔ \(file): " + (fields["dry_run"] == true ? "dry run on the target succeeded" : "parses (\(fields["role"]?.stringValue ?? ""))"))
            }
            if case .array(let warnings)? = fields["warnings"] {
                for warning in warnings { print("! \(file): \(warning.stringValue ?? "")") }
            }
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
