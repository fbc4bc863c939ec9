import ArgumentParser
import Foundation
import LeaseholdAuditChain
import LeaseholdCore

/// `leasehold audit …`: the auditors' commands over `sys/audit-log`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Query, verify, export and follow the audit trail.",
        subcommands: [
            AuditListCommand.self, AuditShowCommand.self, AuditHolderCommand.self, AuditVerifyCommand.self,
            AuditExportCommand.self, AuditTailCommand.self, AuditCheckpointCommand.self,
        ])
}

/// The filters shared by `audit list`, `audit export` and `audit tail` (query parameters of `sys/audit-log`).
struct AuditFilterOptions: ParsableArguments {
    @Option(name: .customLong("since"), help: "From this time (RFC 3339 or Unix seconds).") var since: String?
    @Option(name: .customLong("until"), help: "Before this time.") var until: String?
    @Option(name: .customLong("type"), help: "Event types, comma-separated; a trailing * is a prefix (lease.*).") var type: String?
    @Option(name: .customLong("outcome"), help: "allowed, denied or error.") var outcome: String?
    @Option(name: .customLong("environment")) var environment: String?
    @Option(name: .customLong("accessor"), help: "The actor's token accessor.") var accessor: String?
    @Option(name: .customLong("display-name"), help: "The actor's display name.") var displayName: String?
    @Option(name: .customLong("auth-method")) var authMethod: String?
    @Option(name: .customLong("role")) var role: String?
    @Option(name: .customLong("connection")) var connection: String?
    @Option(name: .customLong("username"), help: "The database username.") var username: String?
    @Option(name: .customLong("lease-id")) var leaseID: String?

    var parameters: [String: JSONValue] {
        let pairs: [(String, String?)] = [
            ("since", since), ("until", until), ("type", type), ("outcome", outcome), ("environment", environment),
            ("accessor", accessor), ("display_name", displayName), ("auth_method", authMethod), ("role", role),
            ("connection", connection), ("db_username", username), ("lease_id", leaseID),
        ]
        var result: [String: JSONValue] = [:]
        for case (let name, let value?) in pairs { result[name] = .string(value) }
        return result
    }
}

/// Pages through `sys/audit-log`.
struct AuditPager {
    let client: APIClient
    var parameters: [String: JSONValue]

    /// The next page after `cursor`, with the cursor that follows it (`nil` at the end).
    func page(after cursor: Int64?, limit: Int, newestFirst: Bool = false) async throws -> ([AuditRecordDocument], Int64?) {
        var query = parameters
        query["limit"] = .string(String(limit))
        if newestFirst { query["order"] = "desc" }
        if let cursor { query[newestFirst ? "before" : "after"] = .string(String(cursor)) }
        let reply = try await client.send("GET", "sys/audit-log" + KeyValueArguments.query(query))
        let data = try JSONEncoder().encode(reply.data?["records"] ?? .array([]))
        let records = try JSONDecoder().decode([AuditRecordDocument].self, from: data)
        let next = reply.data?["next_cursor"]?.numberValue.map { Int64($0) }
        return (records, next)
    }
}

/// Prints audit records as a table, JSON, CSV or JSON lines.
enum AuditRecordPrinter {
    static let columns = ["sequence", "time", "type", "outcome", "environment", "display_name", "auth_method", "path", "db_username", "role", "lease_id"]

    static func fields(_ record: AuditRecordDocument) -> [String] {
        [
            String(record.sequence), record.time, record.type, record.outcome, record.environment, record.actor.displayName,
            record.actor.authMethod, record.path, record.details["db_username"] ?? "", record.details["role"] ?? "",
            record.details["lease_id"] ?? "",
        ]
    }

    static func print(_ records: [AuditRecordDocument], format: OutputFormat, header: Bool = true) throws {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Swift.print(String(decoding: try encoder.encode(records), as: UTF8.self))
        case .jsonl:
            for record in records { Swift.print(try record.jsonLine()) }
        case .csv:
            if header { Swift.print(columns.joined(separator: ",")) }
            for record in records { Swift.print(fields(record).map(csvEscaped).joined(separator: ",")) }
        case .table:
            let rows = (header ? [columns] : []) + records.map(fields)
            let widths = columns.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                Swift.print(row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
            }
        }
    }

    /// RFC 4180 quoting; a leading formula character is neutralized so spreadsheets do not evaluate it.
    static func csvEscaped(_ field: String) -> String {
        var text = field
        if let first = text.first, "=+-@".contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// `leasehold audit list [filters] [-limit=N] [-order=asc|desc] [-format=table|json|csv|jsonl]`.
struct AuditListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List audit records matching filters.")
    @OptionGroup var options: ClientOptions
    @OptionGroup var filters: AuditFilterOptions
    @Option(name: .customLong("limit"), help: "At most this many records (default 100).") var limit = 100
    @Option(name: .customLong("order"), help: "asc (oldest first) or desc.") var order = "desc"

    func run() async throws {
        let pager = AuditPager(client: try options.makeClient(), parameters: filters.parameters)
        var records: [AuditRecordDocument] = []
        var cursor: Int64?
        repeat {
            let (page, next) = try await pager.page(after: cursor, limit: min(1000, limit - records.count), newestFirst: order == "desc")
            records += page
            cursor = next
        } while cursor != nil && records.count < limit
        try AuditRecordPrinter.print(records, format: options.format)
    }
}

/// `leasehold audit show LEASE_ID`: a lease's summary and timeline.
struct AuditShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a lease's whole history.")
    @OptionGroup var options: ClientOptions
    @Argument var leaseID: String

    func run() async throws {
        let reply = try await options.makeClient().send("GET", "sys/audit-log/lease" + KeyValueArguments.query(["lease_id": .string(leaseID)]))
        try AuditTimelinePrinter.print(reply, format: options.format)
    }
}

/// `leasehold audit holder -username=U [-time=T]`: who held a database user at a time.
struct AuditHolderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "holder", abstract: "Who held a database user at a given time.")
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("username"), help: "The database username.") var username: String
    @Option(name: .customLong("time"), help: "RFC 3339 or Unix seconds (default: now).") var time: String?

    func run() async throws {
        var query: [String: JSONValue] = ["db_username": .string(username)]
        if let time { query["time"] = .string(time) }
        let reply = try await options.makeClient().send("GET", "sys/audit-log/holder" + KeyValueArguments.query(query))
        try AuditTimelinePrinter.print(reply, format: options.format)
    }
}

/// Prints a lease timeline answer.
enum AuditTimelinePrinter {
    static func print(_ reply: APIClient.Reply, format: OutputFormat) throws {
        guard format == .table || format == .csv else { return OutputPrinter.printJSON(reply.body ?? .null) }
        var summary = reply.data ?? [:]
        let events = summary.removeValue(forKey: "events") ?? .array([])
        OutputPrinter.table(summary)
        Swift.print("")
        let records = try JSONDecoder().decode([AuditRecordDocument].self, from: JSONEncoder().encode(events))
        try AuditRecordPrinter.print(records, format: format)
    }
}

/// `leasehold audit verify`: the server walks its chain; with `-file`, an export is verified offline.
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Verify the audit hash chain and signed checkpoints (exit 1 when broken).")
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("file"), help: "Verify this JSON-lines export offline instead of asking the server.") var file: String?
    @Option(name: .customLong("public-key"), help: "The broker's checkpoint key (hex) for offline verification.") var publicKey: String?

    func run() async throws {
        let report: [String: JSONValue]
        if let file {
            report = try AuditExportVerifier.verify(path: file, publicKey: publicKey)
        } else {
            report = try await options.makeClient().send("GET", "sys/audit-log/verify").data ?? [:]
        }
        if options.format == .json { OutputPrinter.printJSON(.object(report)) } else { OutputPrinter.table(report) }
        guard report["intact"] == true else {
            let kind = report["break_kind"]?.stringValue ?? "broken"
            let sequence = report["break_sequence"].map(OutputPrinter.render) ?? "?"
            FileHandle.standardError.write(Data("\nThe audit chain is broken at sequence \(sequence) (\(kind)).\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Offline verification of an export: the records must form one unbroken chain (from the first record's
/// predecessor hash) and every checkpoint in it must be signed by the given key (or, without one, by the key of the
/// first checkpoint, which then should be compared with the broker's published key).
enum AuditExportVerifier {
    static func verify(path: String, publicKey: String?) throws -> [String: JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        var records: [AuditRecord] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() where !line.isEmpty {
            guard let document = try? JSONDecoder().decode(AuditRecordDocument.self, from: Data(line.utf8)) else {
                throw ValidationError("line \(index + 1) of \(path) is not an audit record")
            }
            records.append(try document.makeRecord())
        }
        guard let first = records.first else { throw ValidationError("\(path) holds no records") }
        var verifier = AuditChainVerifier(
            startingAfter: AuditChainHead(sequence: first.sequence - 1, hash: first.previousHash), trustedKey: publicKey)
        var index = 0
        while index < records.count, verifier.failure == nil {
            verifier.consume(Array(records[index..<min(records.count, index + 1000)]))
            index += 1000
        }
        var report: [String: JSONValue] = [
            "intact": .bool(verifier.failure == nil), "records": .int(verifier.recordCount),
            "first_sequence": .int(Int(first.sequence)), "last_sequence": .int(Int(verifier.head.sequence)),
            "checkpoints": .int(verifier.checkpointCount), "public_key": .string(verifier.newestCheckpoint?.publicKey ?? publicKey ?? ""),
        ]
        if let failure = verifier.failure {
            report["break_sequence"] = .int(Int(failure.sequence))
            report["break_kind"] = .string(failure.kind.rawValue)
        }
        return report
    }
}

/// `leasehold audit export [-since=T] [-output=FILE]`: every record from `since` as JSON lines, for SIEMs and
/// offline verification.
struct AuditExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export audit records as JSON lines.")
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("since"), help: "From this time (RFC 3339 or Unix seconds).") var since: String?
    @Option(name: .customLong("output"), help: "Write to this file (mode 0600) instead of standard output.") var output: String?

    func run() async throws {
        var parameters: [String: JSONValue] = [:]
        if let since { parameters["since"] = .string(since) }
        let pager = AuditPager(client: try options.makeClient(), parameters: parameters)
        var lines = ""
        var cursor: Int64?
        repeat {
            let (page, next) = try await pager.page(after: cursor, limit: 1000)
            for record in page { lines += try record.jsonLine() + "\n" }
            cursor = next
        } while cursor != nil
        guard let output else { return Swift.print(lines, terminator: "") }
        try PrivateFile.write(Data(lines.utf8), to: output)
    }
}

/// `leasehold audit tail [-f] [filters]`: the newest records, and with `-f` new ones as they are committed.
struct AuditTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "Show the newest audit records; -f follows.")
    @OptionGroup var options: ClientOptions
    @OptionGroup var filters: AuditFilterOptions
    @Flag(name: .customShort("f"), help: "Keep printing new records.") var follow = false
    @Option(name: .customShort("n"), help: "How many of the newest records to show first.") var count = 20

    func run() async throws {
        let pager = AuditPager(client: try options.makeClient(), parameters: filters.parameters)
        let (newest, _) = try await pager.page(after: nil, limit: max(1, count), newestFirst: true)
        try AuditRecordPrinter.print(newest.reversed(), format: options.format)
        var cursor = newest.first?.sequence ?? 0
        while follow {
            try await Task.sleep(for: .seconds(1))
            let (page, _) = try await pager.page(after: cursor, limit: 1000)
            try AuditRecordPrinter.print(page, format: options.format, header: false)
            cursor = page.last?.sequence ?? cursor
        }
    }
}

/// `leasehold audit checkpoint`: signs the current head now.
struct AuditCheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint", abstract: "Write a signed audit checkpoint now.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        OutputPrinter.show(try await options.makeClient().send("PUT", "sys/audit-log/checkpoint", body: [:]), format: options.format)
    }
}
