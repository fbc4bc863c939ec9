import ArgumentParser
import Foundation
import LeaseholdCore

/// `leasehold token create|lookup|renew|revoke`.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create, inspect, renew and revoke tokens.",
        subcommands: [Create.self, Lookup.self, Renew.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a token.")
        @OptionGroup var options: ClientOptions
        @Option(name: .customLong("policy")) var policies: [String] = []
        @Option(name: .customLong("ttl")) var ttl: String?
        @Option(name: .customLong("explicit-max-ttl")) var explicitMaxTTL: String?
        @Option(name: .customLong("period")) var period: String?
        @Option(name: .customLong("use-limit")) var useLimit: Int?
        @Option(name: .customLong("display-name")) var displayName: String?
        @Option(name: .customLong("role")) var role: String?
        @Flag(name: .customLong("orphan")) var orphan = false
        @Flag(name: .customLong("no-default-policy")) var noDefaultPolicy = false

        func run() async throws {
            var body: [String: JSONValue] = ["no_parent": .bool(orphan), "no_default_policy": .bool(noDefaultPolicy)]
            if !policies.isEmpty { body["policies"] = .strings(policies) }
            if let ttl { body["ttl"] = .string(ttl) }
            if let explicitMaxTTL { body["explicit_max_ttl"] = .string(explicitMaxTTL) }
            if let period { body["period"] = .string(period) }
            if let useLimit { body["num_uses"] = .int(useLimit) }
            if let displayName { body["display_name"] = .string(displayName) }
            let path = role.map { "auth/token/create/\($0)" } ?? "auth/token/create"
            OutputPrinter.show(try await options.makeClient().send("POST", path, body: body), format: options.format)
        }
    }

    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lookup", abstract: "Show a token's properties.")
        @OptionGroup var options: ClientOptions
        @Flag(name: .customLong("accessor")) var byAccessor = false
        @Argument var token: String?

        func run() async throws {
            let client = try options.makeClient()
            let reply: APIClient.Reply
            switch (token, byAccessor) {
            case (nil, _): reply = try await client.send("GET", "auth/token/lookup-self")
            case (let value?, true): reply = try await client.send("POST", "auth/token/lookup-accessor", body: ["accessor": .string(value)])
            case (let value?, false): reply = try await client.send("POST", "auth/token/lookup", body: ["token": .string(value)])
            }
            OutputPrinter.show(reply, format: options.format)
        }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "renew", abstract: "Renew a token.")
        @OptionGroup var options: ClientOptions
        @Option(name: .customLong("increment")) var increment: String?
        @Argument var token: String?

        func run() async throws {
            var body: [String: JSONValue] = ["increment": .string(increment ?? "0")]
            let path: String
            if let token {
                body["token"] = .string(token)
                path = "auth/token/renew"
            } else {
                path = "auth/token/renew-self"
            }
            OutputPrinter.show(try await options.makeClient().send("PUT", path, body: body), format: options.format)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token and its children.")
        @OptionGroup var options: ClientOptions
        @Flag(name: .customLong("self")) var revokeSelf = false
        @Flag(name: .customLong("accessor")) var byAccessor = false
        @Option(name: .customLong("mode")) var mode: String?
        @Argument var token: String?

        func run() async throws {
            let client = try options.makeClient()
            if revokeSelf {
                _ = try await client.send("PUT", "auth/token/revoke-self")
            } else {
                guard let token else { throw ValidationError("give a token, or -self") }
                if byAccessor {
                    _ = try await client.send("POST", "auth/token/revoke-accessor", body: ["accessor": .string(token)])
                } else {
                    let path = mode == "orphan" ? "auth/token/revoke-orphan" : "auth/token/revoke"
                    _ = try await client.send("PUT", path, body: ["token": .string(token)])
                }
            }
            print("Success! Revoked token (if it existed)")
        }
    }
}

/// `leasehold policy write|read|list|delete`.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Manage ACL policies.", subcommands: [Write.self, Read.self, List.self, Delete.self])

    struct Write: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "write", abstract: "Write a policy from a file or stdin (-).")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Argument var file: String

        func run() async throws {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let data else { throw ClientError(message: "cannot read \(file)") }
            _ = try await options.makeClient().send("PUT", "sys/policies/acl/\(name)", body: ["policy": .string(String(decoding: data, as: UTF8.self))])
            print("Success! Uploaded policy: \(name)")
        }
    }

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "read", abstract: "Print a policy.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String

        func run() async throws {
            let reply = try await options.makeClient().send("GET", "sys/policies/acl/\(name)", allowedStatuses: [404])
            if reply.status == 404 { throw ClientError(message: "No policy named: \(name)") }
            if options.format == .json { return OutputPrinter.printJSON(reply.body ?? .null) }
            print(reply.data?["policy"]?.stringValue ?? "")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List policies.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let reply = try await options.makeClient().send("LIST", "sys/policies/acl")
            if options.format == .json { return OutputPrinter.printJSON(reply.data?["keys"] ?? .array([])) }
            if case .array(let keys)? = reply.data?["keys"] { for key in keys { print(key.stringValue ?? "") } }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a policy.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String

        func run() async throws {
            _ = try await options.makeClient().send("DELETE", "sys/policies/acl/\(name)")
            print("Success! Deleted policy: \(name)")
        }
    }
}
