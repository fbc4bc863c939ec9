import Foundation
import LeaseholdCore
import Yams

/// Reads role templates from YAML and checks them without touching a database.
public enum RoleTemplateParser {
    /// The placeholders statements may use.
    public static let placeholders: Set<String> = ["name", "username", "password", "expiration", "database"]

    static let knownKeys: Set<String> = [
        "name", "mount", "connection", "environment", "description", "owner", "creation", "revocation", "renew",
        "default_ttl", "max_ttl", "leases_outlive_token", "max_active_leases", "max_leases_per_identity",
    ]

    /// Parses one template. `filename` names the file in errors and becomes the role's source.
    /// Throws ``LeaseholdError`` (invalid request) with a message naming the file and the problem.
    public static func parse(yaml text: String, filename: String) throws -> RoleTemplate {
        func failure(_ message: String) -> LeaseholdError { .invalidRequest("\(filename): \(message)") }
        guard text.utf8.count <= maximumFileSize else { throw failure("the file is larger than 256 KiB") }
        switch YAMLAliasCheck.scan(text) {
        case .clean: break
        case .aliasOrAnchor(let line): throw failure("line \(line): YAML anchors and aliases (& and *) are not allowed")
        case .unchecked: throw failure("the YAML parser could not be started")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw failure(String(describing: error).contains("uplicate") ? "duplicate key" : "not valid YAML")
        }
        guard let mapping = node?.mapping else { throw failure("the document must be a mapping of keys to values") }
        var fields: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw failure("keys must be strings") }
            guard knownKeys.contains(name) else { throw failure("unknown key \"\(name.prefix(40))\"") }
            guard fields.updateValue(value, forKey: name) == nil else { throw failure("duplicate key \"\(name)\"") }
        }
        func string(_ key: String, default value: String? = nil) throws -> String {
            guard let node = fields[key] else {
                if let value { return value }
                throw failure("\"\(key)\" is required")
            }
            guard let text = node.string, node.scalar != nil else { throw failure("\"\(key)\" must be a string") }
            return text
        }
        func statements(_ key: String) throws -> [String] {
            guard let node = fields[key] else { return [] }
            if let sequence = node.sequence {
                return try sequence.map { item in
                    guard let text = item.string, item.scalar != nil else { throw failure("\"\(key)\" must hold strings") }
                    return text
                }
            }
            guard let text = node.string, node.scalar != nil else { throw failure("\"\(key)\" must be a string or a list") }
            return [text]
        }
        func duration(_ key: String) throws -> TTL {
            guard let node = fields[key] else { return .zero }
            guard let text = node.string else { throw failure("\"\(key)\" must be a duration such as 1h") }
            do { return try TTL.parse(text) } catch { throw failure("\"\(key)\" is not a duration") }
        }
        func integer(_ key: String) throws -> Int {
            guard let node = fields[key] else { return 0 }
            guard let value = node.int, value >= 0 else { throw failure("\"\(key)\" must be a non-negative integer") }
            return value
        }
        func flag(_ key: String) throws -> Bool {
            guard let node = fields[key] else { return false }
            guard let value = node.bool else { throw failure("\"\(key)\" must be true or false") }
            return value
        }

        let template = RoleTemplate(
            name: try string("name"), mount: try string("mount", default: "database"),
            connection: try string("connection"), environment: try string("environment", default: "default"),
            description: try string("description", default: ""), owner: try string("owner", default: ""),
            creationStatements: try statements("creation"), revocationStatements: try statements("revocation"),
            renewStatements: try statements("renew"), defaultTTL: try duration("default_ttl"),
            maxTTL: try duration("max_ttl"), leasesOutliveToken: try flag("leases_outlive_token"),
            maxActiveLeases: try integer("max_active_leases"), maxLeasesPerIdentity: try integer("max_leases_per_identity"),
            sourceFile: filename)
        try check(template, failure: failure)
        return template
    }

    /// The largest template file read.
    static let maximumFileSize = 256 * 1024

    /// Parses a file: a regular file (a symbolic link to one is followed, as mounted configuration maps use) of at
    /// most 256 KiB that neither group nor others may write; a device, FIFO or socket is refused without being read.
    public static func parse(contentsOf path: String) throws -> RoleTemplate {
        let name = (path as NSString).lastPathComponent
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw LeaseholdError.invalidRequest("\(name): cannot read the file") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw LeaseholdError.invalidRequest("\(name): not a regular file")
        }
        try refuseWritableByOthers(status.st_mode, name)
        guard Int(status.st_size) <= maximumFileSize else {
            throw LeaseholdError.invalidRequest("\(name): the file is larger than 256 KiB")
        }
        var bytes = [UInt8](repeating: 0, count: maximumFileSize + 1)
        var count = 0
        while count < bytes.count {
            let read = bytes[count...].withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if read > 0 { count += read } else if read < 0, errno == EINTR { continue } else if read == 0 { break } else {
                throw LeaseholdError.invalidRequest("\(name): cannot read the file")
            }
        }
        return try parse(yaml: String(decoding: bytes[..<count], as: UTF8.self), filename: name)
    }

    /// Refuses a roles file or directory that group or others may write: its SQL runs with the connections' admin
    /// credentials.
    private static func refuseWritableByOthers(_ mode: mode_t, _ name: String) throws {
        guard UInt32(mode) & 0o022 == 0 else {
            throw LeaseholdError.invalidRequest(
                "\(name): writable by group or others (mode \(String(UInt32(mode) & 0o777, radix: 8))); restrict it with chmod go-w")
        }
    }

    /// Every `*.yaml`/`*.yml` template in a directory, sorted by file name; all or none (a file that does not parse
    /// stops the load). The directory must not be writable by group or others: its files are SQL that runs with
    /// the connections' admin credentials.
    public static func parse(directory: String) throws -> [RoleTemplate] {
        var status = stat()
        guard stat(directory, &status) == 0 else { throw LeaseholdError.invalidRequest("\(directory): cannot read the directory") }
        try refuseWritableByOthers(status.st_mode, directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        return try names.map { try parse(contentsOf: directory + "/" + $0) }
    }

    private static func check(_ template: RoleTemplate, failure: (String) -> LeaseholdError) throws {
        let nameAlphabet: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        for (label, value) in [("name", template.name), ("connection", template.connection), ("mount", template.mount)] {
            guard !value.isEmpty, value.count <= 128, value.allSatisfy(nameAlphabet) else {
                throw failure("\"\(label)\" may contain only letters, digits, '-', '_' and '.'")
            }
        }
        guard template.environment.count <= 64, !template.environment.isEmpty,
            template.environment.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw failure("\"environment\" may contain only letters, digits, '-' and '_'") }
        guard !template.creationStatements.isEmpty else { throw failure("\"creation\" is required") }
        let creation = template.creationStatements.joined(separator: "\n")
        guard creation.contains("{{name}}") || creation.contains("{{username}}") else {
            throw failure("\"creation\" must use {{name}} for the generated user")
        }
        guard creation.contains("{{password}}") else { throw failure("\"creation\" must set {{password}}") }
        for (label, list) in [("creation", template.creationStatements), ("revocation", template.revocationStatements), ("renew", template.renewStatements)] {
            for statement in list {
                for placeholder in try Self.placeholders(in: statement, failure: failure) where !placeholders.contains(placeholder) {
                    throw failure("\"\(label)\" uses the unknown placeholder {{\(placeholder.prefix(32))}}")
                }
            }
        }
        if !template.maxTTL.isZero, template.defaultTTL > template.maxTTL {
            throw failure("default_ttl cannot exceed max_ttl")
        }
    }

    static func placeholders(in statement: String, failure: (String) -> LeaseholdError) throws -> [String] {
        var found: [String] = []
        var rest = Substring(statement)
        while let open = rest.range(of: "{{") {
            guard let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) else {
                throw failure("unclosed placeholder")
            }
            found.append(rest[open.upperBound..<close.lowerBound].trimmingWhitespace())
            rest = rest[close.upperBound...]
        }
        return found
    }
}
