import Foundation
import LeaseholdCore

/// Prints replies as Vault's CLI does: a key/value table, or the JSON body.
enum OutputPrinter {
    static func printJSON(_ value: JSONValue) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }

    /// Prints a reply in the chosen format: the whole body as JSON, or `data`/`auth`/`wrap_info` as a table.
    static func show(_ reply: APIClient.Reply, format: OutputFormat) {
        guard let body = reply.body else { return }
        if format == .json {
            printJSON(body)
            return
        }
        guard let members = body.objectValue else { return printJSON(body) }
        if let wrap = members["wrap_info"]?.objectValue {
            table(["wrapping_token:": wrap["token"], "wrapping_accessor:": wrap["accessor"], "wrapping_token_ttl:": wrap["ttl"],
                   "wrapping_token_creation_time:": wrap["creation_time"], "wrapping_token_creation_path:": wrap["creation_path"]].compactMapValues { $0 })
        } else if let auth = members["auth"]?.objectValue {
            table([
                "token": auth["client_token"], "token_accessor": auth["accessor"], "token_duration": auth["lease_duration"],
                "token_renewable": auth["renewable"], "token_policies": auth["token_policies"], "policies": auth["policies"],
            ].compactMapValues { $0 })
        } else if let data = members["data"]?.objectValue {
            var rows = data
            if let leaseID = members["lease_id"]?.stringValue, !leaseID.isEmpty {
                rows["lease_id"] = .string(leaseID)
                rows["lease_duration"] = members["lease_duration"]
                rows["lease_renewable"] = members["renewable"]
            }
            table(rows)
        } else if let leaseID = members["lease_id"]?.stringValue, !leaseID.isEmpty {
            table(["lease_id": .string(leaseID), "lease_duration": members["lease_duration"] ?? 0, "lease_renewable": members["renewable"] ?? false])
        } else if members["data"] == nil, members["errors"] == nil {
            table(members)
        }
        if case .array(let warnings)? = members["warnings"] {
            print("\nWARNING! The following warnings were returned:\n")
            for warning in warnings { print("  * \(warning.stringValue ?? "")") }
        }
    }

    static func table(_ values: [String: JSONValue]) {
        let width = max(3, values.keys.map(\.count).max() ?? 0)
        print("Key".padding(toLength: width, withPad: " ", startingAt: 0) + "    Value")
        print("---".padding(toLength: width, withPad: " ", startingAt: 0) + "    -----")
        for key in values.keys.sorted() {
            print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "    " + render(values[key] ?? .null))
        }
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case .null: return "n/a"
        case .bool(let flag): return String(flag)
        case .number(let number): return JSONValue.text(of: number)
        case .string(let text): return text
        case .array(let items): return "[" + items.map(render).joined(separator: " ") + "]"
        case .object(let members): return "map[" + members.keys.sorted().map { "\($0):\(render(members[$0] ?? .null))" }.joined(separator: " ") + "]"
        }
    }
}
