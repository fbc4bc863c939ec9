import Foundation
import LeaseholdCore
import Testing

@testable import LeaseholdEnginePostgres

@Suite("Statement templates")
struct StatementTemplateTests {
    private let values: [StatementPlaceholder: SecretValue] = [
        .name: SecretValue("v-user"), .username: SecretValue("v-user"), .password: SecretValue("p;w--$x"),
        .expiration: SecretValue("2030-01-02 03:04:05+00"), .database: SecretValue("app"),
    ]

    /// The creation lock covers object-privilege statements only, judged on template text (a password or name
    /// spelling "GRANT … ON" changes nothing).
    @Test func findsTheFirstObjectPrivilegeStatement() throws {
        let cases: [([String], Int?)] = [
            (["CREATE ROLE \"{{name}}\" LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";"], 1),
            (["CREATE ROLE \"{{name}}\" LOGIN IN ROLE app_readers;", "GRANT app_writers TO \"{{name}}\";"], nil),
            (["CREATE ROLE \"{{name}}\" LOGIN;", "grant\n  usage on schema s to \"{{name}}\";", "GRANT SELECT ON t TO \"{{name}}\";"], 1),
            (["CREATE ROLE \"{{name}}\" COMMENT 'x';", "ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO \"{{name}}\";"], 1),
            (["GRANT SELECT ON t TO existing;", "CREATE ROLE \"{{name}}\";"], 0),
            (["CREATE ROLE \"{{name}}\" PASSWORD '{{password}}';"], nil),
        ]
        for (statements, expected) in cases {
            #expect(try StatementTemplate(statements).firstObjectPrivilegeStatement == expected, "\(statements)")
        }
    }

    /// A template runs inside the broker's transaction: a COMMIT in it would make the user permanent before its
    /// bookkeeping and commit gate (or make a dry run's user real).
    @Test(arguments: [
        "COMMIT", "commit;", "  -- done\n  END", "/* x */ ROLLBACK", "BEGIN", "START TRANSACTION", "SAVEPOINT s",
        "RELEASE SAVEPOINT s", "ABORT", "PREPARE TRANSACTION 'x'",
    ])
    func transactionControlIsRefused(_ statement: String) {
        let creation = #"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';"#
        #expect(throws: LeaseholdError.self) { _ = try StatementTemplate([creation + " " + statement]) }
        #expect(throws: LeaseholdError.self) { _ = try StatementTemplate([creation, statement]) }
    }

    /// A plain SET outlives the transaction on the pooled connection (a SET ROLE would make later work run as
    /// another role); SET LOCAL ends with it.
    @Test(arguments: ["SET ROLE app_owner", "set search_path = app", "SET SESSION AUTHORIZATION app", "/* x */ SET statement_timeout = 0"])
    func sessionLevelSetIsRefused(_ statement: String) {
        let creation = #"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';"#
        #expect(throws: LeaseholdError.self) { _ = try StatementTemplate([creation, statement]) }
    }

    @Test func transactionLocalSetIsAccepted() throws {
        let template = try StatementTemplate([
            "SET LOCAL ROLE app_owner;", #"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';"#, "set local search_path = app",
        ])
        #expect(template.count == 3)
    }

    @Test func wordsThatOnlyLookLikeTransactionControlAreAccepted() throws {
        let template = try StatementTemplate([
            #"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';"#,
            #"COMMENT ON ROLE "{{name}}" IS 'commit; rollback';"#,
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";",
            "DO $$ BEGIN PERFORM 1; END $$;",
        ])
        #expect(template.count == 4)
    }

    @Test func splitsOnTopLevelSemicolonsOnly() throws {
        let template = try StatementTemplate([
            "CREATE ROLE \"{{name}}\" PASSWORD '{{password}}'; GRANT \"a;b\" TO \"{{name}}\";",
            "COMMENT ON ROLE \"{{name}}\" IS 'x;y' -- trailing; comment\n; SELECT 1 /* a; /* nested; */ b */",
            "DO $body$ BEGIN EXECUTE 'GRANT x TO \"{{name}}\"'; END $body$; SELECT $1",
        ])
        let rendered = try template.render(values)
        #expect(rendered == [
            "CREATE ROLE \"v-user\" PASSWORD 'p;w--$x'",
            " GRANT \"a;b\" TO \"v-user\"",
            "COMMENT ON ROLE \"v-user\" IS 'x;y' -- trailing; comment\n",
            " SELECT 1 /* a; /* nested; */ b */",
            "DO $body$ BEGIN EXECUTE 'GRANT x TO \"v-user\"'; END $body$",
            " SELECT $1",
        ])
    }

    @Test(arguments: [
        "CREATE ROLE {{name}}",
        "CREATE ROLE \"x\" PASSWORD {{password}}",
        "CREATE ROLE \"x\" PASSWORD \"{{password}}\"",
        "ALTER ROLE \"x\" VALID UNTIL \"{{expiration}}\"",
        "CREATE ROLE \"x\" /* {{name}} */",
        "DO $$ BEGIN CREATE ROLE {{name}}; END $$",
        "CREATE ROLE \"x",
        "SELECT 'x",
        "DO $$ BEGIN",
        "SELECT 1 /* never closed",
    ])
    func refusesUnsafeOrMalformedTemplates(_ template: String) {
        #expect(throws: LeaseholdError.invalidRequest("")) { _ = try StatementTemplate([template]) }
    }

    @Test func escapeStringsAreLexedWithBackslashes() throws {
        let rendered = try StatementTemplate(["SELECT E'it\\'s; fine', '{{password}}'; SELECT 2"]).render(values)
        #expect(rendered.count == 2)
        #expect(rendered[0] == "SELECT E'it\\'s; fine', 'p;w--$x'")
    }

    @Test(arguments: ["a'b", "a\\b", "a\"b", "a\u{0}b", "a\nb", "ünï", ""])
    func refusesValuesThatCouldEndQuoting(_ value: String) throws {
        let template = try StatementTemplate(["CREATE ROLE \"{{name}}\" PASSWORD '{{password}}'"])
        var hostile = values
        hostile[.password] = SecretValue(value)
        let error = #expect(throws: LeaseholdError.self) { _ = try template.render(hostile) }
        #expect(error?.message.contains("{{password}}") == true)
    }

    @Test func refusesValuesContainingAnEnclosingDollarDelimiter() throws {
        let template = try StatementTemplate(["DO $$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''{{password}}'''; END $$"])
        var hostile = values
        hostile[.password] = SecretValue("a$$; DROP TABLE canary; --")
        #expect(throws: LeaseholdError.invalidRequest("")) { _ = try template.render(hostile) }
        hostile[.password] = SecretValue("a$b$c")
        #expect(try template.render(hostile).count == 1)
    }

    @Test func valuesAreNotRescanned() throws {
        var tricky = values
        tricky[.password] = SecretValue("{{name}}")
        #expect(try StatementTemplate(["SELECT '{{password}}'"]).render(tricky) == ["SELECT '{{name}}'"])
    }

    @Test func skipsEmptyStatementsAndNamesTheFailingOne() throws {
        #expect(try StatementTemplate([" ; ;", ""]).count == 0)
        let error = #expect(throws: LeaseholdError.self) { _ = try StatementTemplate(["SELECT 1; SELECT {{name}}"]) }
        #expect(error?.message.hasPrefix("statement 2") == true)
    }

    /// A username is spliced into SQL as ``DatabaseUsername/quotedIdentifier``: decoding goes through the same
    /// alphabet check as construction, so no stored or received value can carry a quote.
    @Test func decodedUsernamesAreValidatedLikeConstructedOnes() throws {
        let hostile = Data(#""x\"; DROP ROLE admin; --""#.utf8)
        #expect(throws: LeaseholdError.self) { _ = try JSONDecoder().decode(DatabaseUsername.self, from: hostile) }
        let keyed = Data(#"{"rawValue":"x\"; DROP ROLE admin; --"}"#.utf8)
        #expect(throws: (any Error).self) { _ = try JSONDecoder().decode(DatabaseUsername.self, from: keyed) }
        let name = try DatabaseUsername("v-app-reader-1")
        let encoded = try JSONEncoder().encode(name)
        #expect(String(decoding: encoded, as: UTF8.self) == #""v-app-reader-1""#)
        #expect(try JSONDecoder().decode(DatabaseUsername.self, from: encoded) == name)
    }
}
