import Foundation
import LeaseholdCore

/// HTML-escapes text for element content and quoted attribute values.
enum HTMLText {
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// The markup of the auditor page. Every value from a record is escaped.
enum AuditPageHTML {
    static let style = """
        body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d2430}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
        table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{border-bottom:1px solid #d8dde5;padding:.3rem .4rem;text-align:left}
        th{background:#f1f4f8}form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}label{display:flex;flex-direction:column;font-size:.8rem}
        .error{color:#a11}.muted{color:#667}svg{max-width:100%;height:auto;border:1px solid #d8dde5}
        """

    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(HTMLText.escape(title)) · Leasehold</title>
        <meta name="viewport" content="width=device-width, initial-scale=1"><style>\(style)</style></head>
        <body>\(body)</body></html>
        """
    }

    static func login(message: String?) -> String {
        document(title: "Audit login", body: """
            <h1>Leasehold audit</h1>
            <p>Sign in with a broker token that holds the auditor policy.</p>
            \(message.map { "<p class=\"error\" id=\"login-error\">\(HTMLText.escape($0))</p>" } ?? "")
            <form method="post" action="\(AuditWebPage.basePath)/login" id="login">
            <label>Token <input type="password" name="token" id="token" autocomplete="off" required></label>
            <button type="submit">Sign in</button></form>
            """)
    }

    static func dashboard(filters: [String: String], records: [JSONValue], active: [JSONValue], chart: String) -> String {
        let inputs = AuditWebPage.filters.map { name, label in
            "<label>\(HTMLText.escape(label)) <input name=\"\(name)\" id=\"filter-\(name)\" value=\"\(HTMLText.escape(filters[name] ?? ""))\"></label>"
        }.joined()
        return document(title: "Audit", body: """
            <h1>Leasehold audit</h1>
            <form method="post" action="\(AuditWebPage.basePath)/logout"><button type="submit" id="logout">Sign out</button></form>
            <h2>Active leases per role</h2>
            \(chart)
            <h2>Active leases (\(active.count))</h2>
            \(table(id: "active-leases", columns: ["Lease", "Database user", "Role", "Environment", "Identity", "Issued", "Expires"], rows: active.map(activeRow)))
            <h2>Lease history</h2>
            <form method="get" action="\(AuditWebPage.basePath)" class="filters" id="filters">\(inputs)<button type="submit" id="apply">Filter</button>
            <a href="\(AuditWebPage.basePath)">Clear</a></form>
            <p class="muted">Newest first, at most 200 records; without an event type filter, lease events only.</p>
            \(table(id: "history", columns: ["#", "Time", "Event", "Outcome", "Environment", "Identity", "Database user", "Role", "Lease"], rows: records.map(historyRow)))
            """)
    }

    static func table(id: String, columns: [String], rows: [[String]]) -> String {
        let header = columns.map { "<th>\(HTMLText.escape($0))</th>" }.joined()
        let body = rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        return "<table id=\"\(id)\"><thead><tr>\(header)</tr></thead><tbody>\n\(body)\n</tbody></table>"
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: HTMLText.escape(text)
        case .number(let number)?: JSONValue.text(of: number)
        default: ""
        }
    }

    static func leaseLink(_ id: String?) -> String {
        guard let id, !id.isEmpty else { return "" }
        var components = URLComponents()
        components.queryItems = [URLQueryItem(name: "lease_id", value: id)]
        return "<a href=\"\(AuditWebPage.basePath)?\(HTMLText.escape(components.percentEncodedQuery ?? ""))\">\(HTMLText.escape(id))</a>"
    }

    static func activeRow(_ lease: JSONValue) -> [String] {
        let fields = lease.objectValue ?? [:]
        return [
            leaseLink(fields["lease_id"]?.stringValue), text(fields["db_username"]), text(fields["role"]), text(fields["environment"]),
            text(fields["display_name"]), text(fields["issued_at"]), text(fields["expire_time"]),
        ]
    }

    static func historyRow(_ record: JSONValue) -> [String] {
        let fields = record.objectValue ?? [:]
        let details = fields["details"]?.objectValue ?? [:]
        return [
            text(fields["sequence"]), text(fields["time"]), text(fields["type"]), text(fields["outcome"]), text(fields["environment"]),
            text(fields["actor"]?.objectValue?["display_name"]), text(details["db_username"]), text(details["role"]),
            leaseLink(details["lease_id"]?.stringValue),
        ]
    }
}
