import Foundation
import LeaseholdCore

/// Where and how an audit device delivers rows, parsed and checked from its Vault-style `type` and `options`.
///
/// Parsing is pure (no file or network access), so a device is refused at enable time when its options are wrong,
/// before anything is stored.
public struct AuditSinkSettings: Sendable, Hashable {
    /// Where rows go.
    public enum Destination: Sendable, Hashable {
        /// Appended to a file (`stdout` writes to standard output), created with `mode` when missing.
        case file(path: String, mode: Int)
        /// A TCP connection, wrapped in TLS when `tls` is set.
        case stream(host: String, port: Int, tls: TrustedCertificates?)
        /// One UDP datagram per row.
        case datagram(host: String, port: Int)
        /// One HTTP POST per row.
        case webhook(url: URL, tls: TrustedCertificates, headers: [String: String])
    }

    /// The certificates a TLS client trusts.
    public enum TrustedCertificates: Sendable, Hashable {
        /// The system's roots.
        case system
        /// A PEM file, read when the sink starts.
        case file(String)
        /// PEM text.
        case pem(String)
    }

    /// How each row is framed on the wire.
    public enum Framing: Sendable, Hashable {
        /// One JSON object per line.
        case jsonLines
        /// An RFC 5424 syslog message carrying the JSON object; `facility` is the numeric code.
        case syslog(facility: Int, appName: String)
    }

    /// Where rows go.
    public var destination: Destination
    /// How rows are framed.
    public var framing: Framing
    /// Whether delivery starts from the oldest stored row instead of the rows committed after enabling.
    public var startsAtOldest: Bool

    /// Option names whose values are secret: never shown in reads.
    static func isSecretOption(_ name: String) -> Bool { name.lowercased().hasPrefix("header.") }

    /// An option's value as reads show it: secret options redacted, and a webhook URL reduced to its scheme, host
    /// and port, with `/redacted` for any path and `?redacted` for any query (chat and SIEM webhooks carry their
    /// token in the path, `…/services/T0/B0/<token>`, or in the query; user information is dropped).
    static func displayedValue(of name: String, _ value: String) -> String {
        if isSecretOption(name) { return "redacted" }
        guard name.lowercased() == "url" else { return value }
        guard let parsed = URLComponents(string: value), let scheme = parsed.scheme, let host = parsed.percentEncodedHost
        else { return "redacted" }
        var shown = URLComponents()
        shown.scheme = scheme
        shown.percentEncodedHost = host
        shown.port = parsed.port
        if !parsed.path.isEmpty, parsed.path != "/" { shown.path = "/redacted" }
        if parsed.query != nil { shown.percentEncodedQuery = "redacted" }
        return shown.string ?? "redacted"
    }

    /// Parses a device's options; throws a caller-safe ``LeaseholdError`` naming the first problem.
    public static func parse(type: String, options: [String: String]) throws -> AuditSinkSettings {
        guard options.count <= 32, options.allSatisfy({ $0.key.count <= 64 && $0.value.utf8.count <= 16384 }) else {
            throw LeaseholdError.invalidRequest("too many or too large audit device options")
        }
        let startsAtOldest: Bool
        switch options["start"] ?? "now" {
        case "now": startsAtOldest = false
        case "oldest": startsAtOldest = true
        default: throw LeaseholdError.invalidRequest("start must be \"now\" or \"oldest\"")
        }
        switch type {
        case "file":
            guard let path = options["file_path"] ?? options["path"], !path.isEmpty else {
                throw LeaseholdError.invalidRequest("file_path is required")
            }
            guard path == "stdout" || path.hasPrefix("/") else {
                throw LeaseholdError.invalidRequest("file_path must be an absolute path or \"stdout\"")
            }
            let mode = try options["mode"].map(parseMode) ?? 0o600
            return AuditSinkSettings(destination: .file(path: path, mode: mode), framing: .jsonLines, startsAtOldest: startsAtOldest)
        case "socket":
            let (host, port) = try address(options["address"] ?? "127.0.0.1:9090")
            switch options["socket_type"] ?? "tcp" {
            case "tcp":
                return AuditSinkSettings(destination: .stream(host: host, port: port, tls: nil), framing: .jsonLines, startsAtOldest: startsAtOldest)
            case "udp":
                return AuditSinkSettings(destination: .datagram(host: host, port: port), framing: .jsonLines, startsAtOldest: startsAtOldest)
            default: throw LeaseholdError.invalidRequest("socket_type must be tcp or udp")
            }
        case "syslog":
            guard let raw = options["address"] else { throw LeaseholdError.invalidRequest("address is required (host:port of the syslog receiver)") }
            let (host, port) = try address(raw)
            let framing = Framing.syslog(facility: try facility(options["facility"] ?? "AUTH"), appName: try appName(options["tag"] ?? "leasehold"))
            switch options["protocol"] ?? "tcp" {
            case "tcp":
                return AuditSinkSettings(destination: .stream(host: host, port: port, tls: nil), framing: framing, startsAtOldest: startsAtOldest)
            case "tls":
                let trust: TrustedCertificates = options["tls_ca_file"].map(TrustedCertificates.file) ?? .system
                return AuditSinkSettings(destination: .stream(host: host, port: port, tls: trust), framing: framing, startsAtOldest: startsAtOldest)
            case "udp":
                return AuditSinkSettings(destination: .datagram(host: host, port: port), framing: framing, startsAtOldest: startsAtOldest)
            default: throw LeaseholdError.invalidRequest("protocol must be udp, tcp or tls")
            }
        case "webhook":
            return AuditSinkSettings(destination: try webhook(options), framing: .jsonLines, startsAtOldest: startsAtOldest)
        default:
            throw LeaseholdError.invalidRequest("unknown audit device type \"\(type.prefix(32))\"; use file, socket, syslog or webhook")
        }
    }

    private static func webhook(_ options: [String: String]) throws -> Destination {
        guard let raw = options["url"], let url = URL(string: raw), let scheme = url.scheme?.lowercased(), let host = url.host,
            url.user == nil, url.password == nil
        else { throw LeaseholdError.invalidRequest("url must be an http(s) URL without credentials") }
        let loopback = ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased())
        guard scheme == "https" || (scheme == "http" && loopback) else {
            throw LeaseholdError.invalidRequest("url must use https (plain http is allowed only to a loopback address)")
        }
        if options["ca_pem"] != nil && options["tls_ca_file"] != nil {
            throw LeaseholdError.invalidRequest("give ca_pem or tls_ca_file, not both")
        }
        let trust: TrustedCertificates = options["ca_pem"].map(TrustedCertificates.pem) ?? options["tls_ca_file"].map(TrustedCertificates.file) ?? .system
        var headers: [String: String] = [:]
        for (key, value) in options where key.lowercased().hasPrefix("header.") {
            let name = String(key.dropFirst(7))
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }),
                !value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" })
            else { throw LeaseholdError.invalidRequest("invalid webhook header option \(name.prefix(64))") }
            headers[name] = value
        }
        return .webhook(url: url, tls: trust, headers: headers)
    }

    /// Splits `host:port` (IPv6 in brackets).
    static func address(_ raw: String) throws -> (String, Int) {
        guard let colon = raw.lastIndex(of: ":"), let port = Int(raw[raw.index(after: colon)...]), (1...65535).contains(port) else {
            throw LeaseholdError.invalidRequest("address must be host:port")
        }
        var host = String(raw[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.count <= 253, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) }) else {
            throw LeaseholdError.invalidRequest("address must be host:port")
        }
        return (host, port)
    }

    /// An audit file's mode: octal, never world-writable and never executable (an audit file that can be made
    /// executable through the API is a way from API to host, CVE-2025-6000's class).
    private static func parseMode(_ raw: String) throws -> Int {
        guard let mode = Int(raw, radix: 8), (0...0o777).contains(mode), mode & 0o002 == 0, mode & 0o111 == 0 else {
            throw LeaseholdError.invalidRequest("mode must be octal permissions without world write or execute, such as 0600")
        }
        return mode
    }

    private static let facilities: [String: Int] = [
        "KERN": 0, "USER": 1, "MAIL": 2, "DAEMON": 3, "AUTH": 4, "SYSLOG": 5, "LPR": 6, "NEWS": 7, "UUCP": 8,
        "CRON": 9, "AUTHPRIV": 10, "FTP": 11, "LOCAL0": 16, "LOCAL1": 17, "LOCAL2": 18, "LOCAL3": 19, "LOCAL4": 20,
        "LOCAL5": 21, "LOCAL6": 22, "LOCAL7": 23,
    ]

    private static func facility(_ raw: String) throws -> Int {
        guard let code = facilities[raw.uppercased()] else { throw LeaseholdError.invalidRequest("unknown syslog facility") }
        return code
    }

    /// RFC 5424 APP-NAME: 1 to 48 printable ASCII characters.
    private static func appName(_ raw: String) throws -> String {
        guard (1...48).contains(raw.count), raw.allSatisfy({ $0.isASCII && $0.asciiValue.map { (33...126).contains($0) } == true }) else {
            throw LeaseholdError.invalidRequest("tag must be 1 to 48 printable ASCII characters")
        }
        return raw
    }
}
