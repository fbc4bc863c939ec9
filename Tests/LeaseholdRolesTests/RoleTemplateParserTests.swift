import Foundation
import LeaseholdCore
import LeaseholdRoles
import Testing

@Suite("Role templates")
struct RoleTemplateParserTests {
    static let rolesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Roles").path

    @Test func everyShippedExampleParsesAndUsesGroupRoles() throws {
        let templates = try RoleTemplateParser.parse(directory: Self.rolesDirectory)
        #expect(templates.map(\.name).sorted() == ["migrations", "readonly", "readwrite"])
        for template in templates {
            #expect(TemplateCheck.warnings(for: template.creationStatements).isEmpty, "\(template.name)")
            #expect(template.creationStatements.joined().contains("IN ROLE"))
        }
    }

    @Test func fieldsAreRead() throws {
        let template = try RoleTemplateParser.parse(
            yaml: """
                name: reader
                mount: db
                connection: main
                environment: prod
                default_ttl: 30m
                max_ttl: 2h
                leases_outlive_token: true
                max_active_leases: 10
                creation:
                  - CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
                  - GRANT app TO "{{name}}";
                revocation: DROP ROLE "{{name}}";
                """, filename: "reader.yaml")
        #expect(template.mount == "db")
        #expect(template.environment == "prod")
        #expect(template.defaultTTL.seconds == 1800)
        #expect(template.creationStatements.count == 2)
        #expect(template.revocationStatements == ["DROP ROLE \"{{name}}\";"])
        #expect(template.apiFields["max_ttl"] == 7200)
        #expect(template.apiFields["source"] == "reader.yaml")
    }

    @Test(arguments: [
        ("connection: c\ncreation: x {{name}} {{password}}", "\"name\" is required"),
        ("name: r\nconnection: c\ncreation: CREATE ROLE x", "must use {{name}}"),
        ("name: r\nconnection: c\ncreation: CREATE ROLE \"{{name}}\"", "must set {{password}}"),
        ("name: r\nconnection: c\ncreation: \"{{name}} {{password}} {{evil}}\"", "unknown placeholder"),
        ("name: r\nconnection: c\nbogus: 1\ncreation: \"{{name}} {{password}}\"", "unknown key"),
        ("name: r\nname: s\nconnection: c\ncreation: \"{{name}} {{password}}\"", "duplicate key"),
        ("name: \"r;drop\"\nconnection: c\ncreation: \"{{name}} {{password}}\"", "may contain only"),
        ("name: r\nconnection: c\ndefault_ttl: 2h\nmax_ttl: 1h\ncreation: \"{{name}} {{password}}\"", "default_ttl cannot exceed"),
        ("name: r\nconnection: c\ndefault_ttl: soon\ncreation: \"{{name}} {{password}}\"", "not a duration"),
        ("- a\n- b", "must be a mapping"),
        ("name: [unclosed", "not valid YAML"),
    ])
    func badTemplatesAreRejectedPrecisely(yaml: String, message: String) {
        #expect {
            _ = try RoleTemplateParser.parse(yaml: yaml, filename: "bad.yaml")
        } throws: { error in
            (error as? LeaseholdError)?.message.contains(message) == true
                && (error as? LeaseholdError)?.message.hasPrefix("bad.yaml: ") == true
        }
    }

    /// Anchors and aliases are refused before the document is composed: a "billion laughs" file of a few hundred
    /// bytes, with an alias as a mapping key, made the composer walk billions of nodes (hours of CPU in the roles
    /// loader). `*` and `&` inside SQL text are just text.
    @Test func anchorsAndAliasesAreRefusedBeforeComposing() throws {
        var laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        let levels = ["b", "c", "d", "e", "f", "g", "h", "i"]
        var previous = "a"
        for level in levels {
            laughs += "\(level): &\(level) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
            previous = level
        }
        laughs += "? *i\n: y\n"
        let started = ContinuousClock.now
        let refused = try #require(throws: LeaseholdError.self) { try RoleTemplateParser.parse(yaml: laughs, filename: "laughs.yaml") }
        #expect(refused.message == "laughs.yaml: line 1: YAML anchors and aliases (& and *) are not allowed")
        #expect(ContinuousClock.now - started < .seconds(5), "refused by scanning, not by composing")

        let aliased = "name: r\nconnection: &c main\ncreation: *c\n"
        #expect(throws: LeaseholdError.self) { try RoleTemplateParser.parse(yaml: aliased, filename: "r.yaml") }
        let text = try RoleTemplateParser.parse(
            yaml: """
                name: r
                connection: main
                creation: |
                  CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}' IN ROLE app; -- not *an alias* & not &an anchor
                revocation: "SELECT 1 * 2 & 3; DROP ROLE \\"{{name}}\\";"
                """, filename: "r.yaml")
        #expect(text.creationStatements.first?.contains("*an alias*") == true)
    }

    /// Files are read only if they are regular files (a symbolic link to one is followed), at most 256 KiB, from a
    /// directory that group and others cannot write: a link to /dev/zero was read without end, a FIFO blocked.
    @Test func onlyRegularFilesFromAPrivateDirectoryAreRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("roles-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try String(contentsOfFile: Self.rolesDirectory + "/readonly.yaml", encoding: .utf8)
        try good.write(toFile: directory + "/target.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: directory + "/readonly.yaml", withDestinationPath: directory + "/target.txt")
        #expect(try RoleTemplateParser.parse(directory: directory).map(\.name) == ["readonly"])

        try FileManager.default.createSymbolicLink(atPath: directory + "/zero.yaml", withDestinationPath: "/dev/zero")
        let zero = try #require(throws: LeaseholdError.self) { try RoleTemplateParser.parse(contentsOf: directory + "/zero.yaml") }
        #expect(zero.message == "zero.yaml: not a regular file")
        #expect(mkfifo(directory + "/fifo.yaml", 0o600) == 0)
        let fifo = try #require(throws: LeaseholdError.self) { try RoleTemplateParser.parse(contentsOf: directory + "/fifo.yaml") }
        #expect(fifo.message == "fifo.yaml: not a regular file")
        try String(repeating: "#", count: 300 * 1024).write(toFile: directory + "/big.yaml", atomically: true, encoding: .utf8)
        let big = try #require(throws: LeaseholdError.self) { try RoleTemplateParser.parse(contentsOf: directory + "/big.yaml") }
        #expect(big.message == "big.yaml: the file is larger than 256 KiB")
        // A file (or a link's target) anyone may rewrite is refused like such a directory.
        #expect(chmod(directory + "/target.txt", 0o666) == 0)
        let writable = try #require(throws: LeaseholdError.self) { try RoleTemplateParser.parse(contentsOf: directory + "/readonly.yaml") }
        #expect(writable.message == "readonly.yaml: writable by group or others (mode 666); restrict it with chmod go-w")
        #expect(chmod(directory + "/target.txt", 0o644) == 0)

        #expect(chmod(directory, 0o775) == 0)
        let open = try #require(throws: LeaseholdError.self) { try RoleTemplateParser.parse(directory: directory) }
        #expect(open.message.hasSuffix("writable by group or others (mode 775); restrict it with chmod go-w"))
    }

    @Test func perObjectGrantsToTheUserAreWarnedAbout() {
        #expect(!TemplateCheck.warnings(for: ["GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";"]).isEmpty)
        #expect(!TemplateCheck.warnings(for: ["grant insert, update on items to \"{{username}}\""]).isEmpty)
        #expect(TemplateCheck.warnings(for: ["CREATE ROLE \"{{name}}\" IN ROLE app_readers;"]).isEmpty)
        #expect(TemplateCheck.warnings(for: ["GRANT app_readers TO \"{{name}}\";"]).isEmpty)
        #expect(!TemplateCheck.warnings(for: ["GRANT\tALL PRIVILEGES\nON SCHEMA s TO \"{{name}}\""]).isEmpty)
        #expect(!TemplateCheck.warnings(for: ["grant select,insert on t to \"{{name}}\""]).isEmpty)
        #expect(TemplateCheck.warnings(for: ["GRANT ON t TO \"{{name}}\""]).isEmpty, "no privilege named")
        #expect(TemplateCheck.warnings(for: ["GRANT SELECT (id) ON t TO \"{{name}}\""]).isEmpty, "column lists, as before")
    }
}
