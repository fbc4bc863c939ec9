import ArgumentParser
import Foundation
import LeaseholdCore

/// Parses `key=value` arguments; `key=@file` reads a file and `key=-` reads standard input.
enum KeyValueArguments {
    static func parse(_ arguments: [String]) throws -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "=") else {
                throw ValidationError("expected key=value, got \"\(argument.prefix(64))\"")
            }
            let key = String(argument[..<equals])
            var value = String(argument[argument.index(after: equals)...])
            if value == "-" {
                value = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else if value.hasPrefix("@") {
                guard let data = FileManager.default.contents(atPath: String(value.dropFirst())) else {
                    throw ValidationError("cannot read \(value.dropFirst())")
                }
                value = String(decoding: data, as: UTF8.self)
                // Files end with a newline that is not part of the value (tokens, JWTs, PEM bodies keep theirs).
                if value.hasSuffix("\n"), !value.hasSuffix("-----\n") { value.removeLast() }
            }
            if case .string(let existing)? = fields[key] {
                fields[key] = .array([.string(existing), .string(value)])
            } else if case .array(let existing)? = fields[key] {
                fields[key] = .array(existing + [.string(value)])
            } else {
                fields[key] = .string(value)
            }
        }
        return fields
    }

    /// Turns query fields into a `?a=b&c=d` suffix.
    static func query(_ fields: [String: JSONValue]) -> String {
        guard !fields.isEmpty else { return "" }
        var components = URLComponents()
        components.queryItems = fields.keys.sorted().map { URLQueryItem(name: $0, value: fields[$0]?.stringValue ?? "") }
        return "?" + (components.percentEncodedQuery ?? "")
    }
}

/// `leasehold read PATH [k=v...]`.
struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Read data from any API path.")
    @OptionGroup var options: ClientOptions
    @Argument var path: String
    @Argument var fields: [String] = []

    func run() async throws {
        let query = KeyValueArguments.query(try KeyValueArguments.parse(fields))
        let reply = try await options.makeClient().send("GET", path + query, allowedStatuses: [404])
        if reply.status == 404 { throw ClientError(message: "No value found at \(path)") }
        OutputPrinter.show(reply, format: options.format)
    }
}

/// `leasehold write PATH [k=v...]`.
struct WriteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "write", abstract: "Write data to any API path.")
    @OptionGroup var options: ClientOptions
    @Flag(name: .customLong("force"), help: "Allow a write with no data.") var force = false
    @Argument var path: String
    @Argument var fields: [String] = []

    func run() async throws {
        let body = try KeyValueArguments.parse(fields)
        if body.isEmpty && !force { throw ValidationError("must supply data or use -force") }
        let reply = try await options.makeClient().send("PUT", path, body: body)
        if reply.status == 204 { print("Success! Data written to: \(path)") } else { OutputPrinter.show(reply, format: options.format) }
    }
}

/// `leasehold list PATH`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys at any API path.")
    @OptionGroup var options: ClientOptions
    @Argument var path: String

    func run() async throws {
        let reply = try await options.makeClient().send("LIST", path, allowedStatuses: [404])
        if reply.status == 404 { throw ClientError(message: "No value found at \(path)") }
        if options.format == .json { return OutputPrinter.printJSON(reply.data?["keys"] ?? .array([])) }
        print("Keys\n----")
        if case .array(let keys)? = reply.data?["keys"] { for key in keys { print(key.stringValue ?? "") } }
    }
}

/// `leasehold delete PATH`.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete data at any API path.")
    @OptionGroup var options: ClientOptions
    @Argument var path: String
    @Argument var fields: [String] = []

    func run() async throws {
        let query = KeyValueArguments.query(try KeyValueArguments.parse(fields))
        _ = try await options.makeClient().send("DELETE", path + query)
        print("Success! Data deleted (if it existed) at: \(path)")
    }
}
