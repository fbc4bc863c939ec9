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
