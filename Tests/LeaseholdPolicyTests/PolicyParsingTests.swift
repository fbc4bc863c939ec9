import LeaseholdCore
import Testing

@testable import LeaseholdPolicy

@Suite("Policy parsing")
struct PolicyParsingTests {
    private func parseError(_ text: String) throws -> String {
        let error = try #require(throws: LeaseholdError.self) { try ACLPolicy.parse(name: "p", text: text) }
        #expect(error.code == .invalidRequest)
        return error.message
    }

    @Test(arguments: [
        (#"path "x" { capabilities = ["bogus"] }"#, #"failed to parse policy: path "x": invalid capability "bogus""#),
        (#"path "x" { policy = "admin" }"#, #"failed to parse policy: path "x": invalid policy "admin""#),
        (
            #"path "x" { capabilities = ["read"], bogus = 1 }"#,
            #"failed to parse policy: path "x": invalid key "bogus""#
        ),
        (
            #"path "x" { capabilities = "read" }"#,
            #"failed to parse policy: path "x": capabilities must be a list of strings"#
        ),
        (
            #"path "x" { capabilities = [1] }"#,
            #"failed to parse policy: path "x": capabilities must be a list of strings"#
        ),
        (
            "path \"x\" { capabilities = [\"read\"] }\npath \"x\" { capabilities = [\"list\"] }",
            #"failed to parse policy: path "x": duplicate path"#
        ),
        (
            "path \"x\" { capabilities = [\"read\"] }\npath \"/x\" { capabilities = [\"list\"] }",
            #"failed to parse policy: path "/x": duplicate path"#
        ),
        (
            "path \"x\" {\n capabilities = [\"read\"]\n capabilities = [\"list\"]\n}",
            #"failed to parse policy: 3:2: duplicate key "capabilities""#
        ),
        (
            #"path "x+*" { capabilities = ["read"] }"#,
            #"failed to parse policy: path "x+*": invalid use of wildcards ('+*' is forbidden)"#
        ),
        (
            #"path "x" { capabilities = ["read"], min_wrapping_ttl = "2h", max_wrapping_ttl = "1h" }"#,
            #"failed to parse policy: path "x": max_wrapping_ttl cannot be less than min_wrapping_ttl"#
        ),
        (#"path "x" { min_wrapping_ttl = "soon" }"#, #"failed to parse policy: path "x": invalid min_wrapping_ttl"#),
        (
            #"path "x" { allowed_parameters = ["a"] }"#,
            #"failed to parse policy: path "x": allowed_parameters must be an object of lists"#
        ),
        (
            #"path "x" { denied_parameters = { a = "b" } }"#,
            #"failed to parse policy: path "x": denied_parameters: "a" must be a list"#
        ),
        (
            #"path "x" { allowed_parameters = { A = [], a = [] } }"#,
            #"failed to parse policy: path "x": allowed_parameters: duplicate parameter "a""#
        ),
        (#"paths "x" { }"#, #"failed to parse policy: invalid key "paths""#),
        (#"path = "x""#, #"failed to parse policy: path: expected a block, found a string"#),
        (#"path "x" { capabilities = ["read"] "#, #"failed to parse policy: 1:36: unclosed block: expected '}'"#),
        (
            #"{"path": {"x": {"capabilities": ["bogus"]}}}"#,
            #"failed to parse policy: path "x": invalid capability "bogus""#
        ),
        (
            #"{"path": {"x": {"capabilities": ["read"]}, "x": {"capabilities": ["list"]}}}"#,
            #"failed to parse policy: 1:44: duplicate key "x""#
        ),
        (
            #"path "a\u0000b" { capabilities = ["bogus\n"] }"#,
            #"failed to parse policy: path "a?b": invalid capability "bogus?""#
        ),
    ])
    func rejects(text: String, message: String) throws {
        #expect(try parseError(text) == message)
    }

    @Test func longInputIsNotEchoed() throws {
        let longPath = String(repeating: "p", count: 500)
        let message = try parseError(
            "path \"\(longPath)\" { capabilities = [\"\(String(repeating: "c", count: 500))\"] }"
        )
        #expect(message.count < 200)
    }

    @Test func hclAndJSONGiveIdenticalRules() throws {
        let hcl = try ACLPolicy.parse(
            name: "App ",
            text: """
                # The application's policy.
                path "secret/data/app/*" {
                  capabilities = ["create", "read", "update"]
                  allowed_parameters = { "ttl" = ["1h", 60] }
                  required_parameters = ["ttl"]
                  max_wrapping_ttl = "10m"
                }
                path "secret/+/list" { policy = "read" }
                path "sys/*" { capabilities = ["deny"] }
                """
        )
        let json = try ACLPolicy.parse(
            name: "app",
            text: """
                {"path": {
                  "secret/data/app/*": {"capabilities": ["create", "read", "update"],
                    "allowed_parameters": {"ttl": ["1h", 60]}, "required_parameters": ["ttl"], "max_wrapping_ttl": "10m"},
                  "secret/+/list": {"policy": "read"},
                  "sys/*": {"capabilities": ["deny"]}
                }}
                """
        )
        #expect(hcl.name == "app")
        #expect(hcl.rules == json.rules)
        #expect(hcl.rules.map(\.pattern.kind) == [.prefix, .segmentWildcard, .prefix])
        #expect(hcl.rules[2].isDeny)
        let hclACL = ACL(policies: [hcl])
        let jsonACL = ACL(policies: [json])
        for path in ["secret/data/app/x", "secret/a/list", "sys/seal", "other"] {
            #expect(hclACL.capabilities(for: path) == jsonACL.capabilities(for: path))
        }
    }

    @Test func keepsTheRawText() throws {
        let text = "path \"a\" { capabilities = [\"read\"] }\n"
        #expect(try ACLPolicy.parse(name: "a", text: text).text == text)
    }

    @Test func emptyPolicyHasNoRules() throws {
        #expect(try ACLPolicy.parse(name: "a", text: "# nothing\n").rules.isEmpty)
        #expect(try ACLPolicy.parse(name: "a", text: "{}").rules.isEmpty)
    }

    @Test func commentAndNameAreAccepted() throws {
        let policy = try ACLPolicy.parse(
            name: "a",
            text: "name = \"a\"\npath \"x\" { comment = \"why\"\n capabilities = [\"read\"] }"
        )
        #expect(policy.rules.count == 1)
    }

    @Test(arguments: [
        "", "  ", "root", "Root", " root ", "ROOT\n", "a/b", "a\u{0}b", "a\u{7}", String(repeating: "a", count: 129),
    ])
    func invalidNames(name: String) {
        #expect(throws: LeaseholdError.self) { try ACLPolicy.validateName(name) }
    }

    @Test func validNamesAreNormalized() throws {
        #expect(try ACLPolicy.validateName(" App-Reader ") == "app-reader")
        #expect(try ACLPolicy.validateName("default") == "default")
        #expect(try ACLPolicy.validateName(String(repeating: "a", count: 128)).count == 128)
    }
}
