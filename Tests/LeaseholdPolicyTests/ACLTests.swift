import LeaseholdCore
import Testing

@testable import LeaseholdPolicy

/// One row of the ACL table: policy texts, a path, and the capabilities expected there.
struct ACLCase: CustomTestStringConvertible, Sendable {
    let policies: [String]
    let path: String
    let expected: Set<Capability>
    let note: String

    init(_ note: String, _ policies: [String], _ path: String, _ expected: Set<Capability>) {
        self.note = note
        self.policies = policies
        self.path = path
        self.expected = expected
    }

    var testDescription: String { "\(note): \(path)" }
}

private func rule(_ path: String, _ capabilities: String) -> String {
    "path \"\(path)\" { capabilities = [\(capabilities)] }"
}

private func acl(_ texts: [String]) throws -> ACL {
    ACL(policies: try texts.enumerated().map { try ACLPolicy.parse(name: "p\($0.offset)", text: $0.element) })
}

@Suite("ACL evaluation")
struct ACLTests {
    static let cases: [ACLCase] = [
        // Exact, glob and segment wildcards.
        ACLCase("exact", [rule("secret/a", "\"read\"")], "secret/a", [.read]),
        ACLCase("exact does not match child", [rule("secret/a", "\"read\"")], "secret/a/b", []),
        ACLCase("exact does not match trailing slash", [rule("secret/a", "\"read\"")], "secret/a/", []),
        ACLCase("glob matches prefix", [rule("secret/*", "\"read\"")], "secret/a/b/c", [.read]),
        ACLCase("glob matches stem itself", [rule("secret/*", "\"read\"")], "secret/", [.read]),
        ACLCase("glob needs its stem", [rule("secret/*", "\"read\"")], "secret", []),
        ACLCase("glob mid-segment", [rule("secret/ab*", "\"read\"")], "secret/abc", [.read]),
        ACLCase("plus matches one segment", [rule("secret/+/x", "\"read\"")], "secret/a/x", [.read]),
        ACLCase("plus does not match two segments", [rule("secret/+/x", "\"read\"")], "secret/a/b/x", []),
        ACLCase("plus without glob needs the same length", [rule("secret/+", "\"read\"")], "secret/a/b", []),
        ACLCase("plus with glob", [rule("secret/+/x*", "\"read\"")], "secret/a/xyz/more", [.read]),
        ACLCase("plus glob needs prefix of last segment", [rule("secret/+/x*", "\"read\"")], "secret/a/yx", []),
        ACLCase("leading plus", [rule("+/config", "\"read\"")], "database/config", [.read]),
        ACLCase("leading slash stripped", [rule("/secret/a", "\"read\"")], "secret/a", [.read]),
        ACLCase("no rule", [rule("secret/a", "\"read\"")], "sys/mounts", []),
        ACLCase("literal star in the middle is exact", [rule("a/*/b", "\"read\"")], "a/x/b", []),
        // Priority between overlapping non-exact patterns.
        ACLCase("exact beats glob", [rule("secret/*", "\"deny\""), rule("secret/a", "\"read\"")], "secret/a", [.read]),
        ACLCase(
            "longer glob wins",
            [rule("secret/*", "\"read\""), rule("secret/a/*", "\"update\"")],
            "secret/a/b",
            [.update]
        ),
        ACLCase(
            "later first wildcard wins",
            [rule("secret/+/b", "\"read\""), rule("secret/a/*", "\"update\"")],
            "secret/a/b",
            [.update]
        ),
        ACLCase(
            "later plus beats earlier plus",
            [rule("+/a/b", "\"read\""), rule("x/+/b", "\"update\"")],
            "x/a/b",
            [.update]
        ),
        ACLCase(
            "non-glob beats glob at same wildcard position",
            [rule("secret/+/*", "\"read\""), rule("secret/+/b", "\"update\"")],
            "secret/a/b",
            [.update]
        ),
        ACLCase(
            "fewer plus segments win",
            [rule("a/+/+/d", "\"read\""), rule("a/+/c/d", "\"update\"")],
            "a/b/c/d",
            [.update]
        ),
        ACLCase(
            "longer pattern wins",
            [rule("a/+/c*", "\"read\""), rule("a/+/cd*", "\"update\"")],
            "a/b/cde",
            [.update]
        ),
        ACLCase(
            "lexically smaller wins last tie",
            [rule("a/+/x", "\"read\""), rule("a/+/y", "\"update\"")],
            "a/b/x",
            [.read]
        ),
        ACLCase(
            "glob prefix vs plus: foo/a* beats foo/+",
            [rule("foo/a*", "\"read\""), rule("foo/+", "\"update\"")],
            "foo/ab",
            [.read]
        ),
        ACLCase(
            "plus pattern beats shorter glob",
            [rule("secret/*", "\"read\""), rule("secret/+/x", "\"update\"")],
            "secret/a/x",
            [.update]
        ),
        // Deny.
        ACLCase("deny wins within a rule", [rule("secret/*", "\"read\", \"deny\"")], "secret/a", []),
        ACLCase(
            "GHSA-xp3c-3jw3-4vcr: more specific deny beats parent list",
            [rule("foo/metadata/*", "\"list\", \"read\""), rule("foo/metadata/private/*", "\"deny\"")],
            "foo/metadata/private/",
            []
        ),
        ACLCase(
            "GHSA-xp3c-3jw3-4vcr: deny deep below",
            [
                rule("foo/metadata/*", "\"list\""),
                rule("foo/metadata/private/*", "\"deny\""),
            ],
            "foo/metadata/private/x/y/",
            []
        ),
        ACLCase(
            "GHSA-xp3c-3jw3-4vcr: sibling still listed",
            [
                rule("foo/metadata/*", "\"list\""),
                rule("foo/metadata/private/*", "\"deny\""),
            ],
            "foo/metadata/public/",
            [.list]
        ),
        ACLCase(
            "more specific grant beats less specific deny",
            [
                rule("secret/*", "\"deny\""),
                rule("secret/open/*", "\"read\""),
            ],
            "secret/open/x",
            [.read]
        ),
        // Merging across policies at the same pattern.
        ACLCase(
            "union across policies",
            [rule("secret/*", "\"read\""), rule("secret/*", "\"list\"")],
            "secret/x",
            [.read, .list]
        ),
        ACLCase("deny across policies", [rule("secret/*", "\"read\""), rule("secret/*", "\"deny\"")], "secret/x", []),
        ACLCase(
            "deny first across policies",
            [rule("secret/*", "\"deny\""), rule("secret/*", "\"read\"")],
            "secret/x",
            []
        ),
        ACLCase(
            "exact and glob of the same text are different patterns",
            [rule("secret/", "\"deny\""), rule("secret/*", "\"read\"")],
            "secret/x",
            [.read]
        ),
        ACLCase(
            "legacy write shorthand",
            ["path \"a\" { policy = \"write\" }"],
            "a",
            [.create, .read, .update, .delete, .list]
        ),
        ACLCase(
            "legacy shorthand plus capabilities",
            ["path \"a\" { policy = \"read\"\n capabilities = [\"sudo\"] }"],
            "a",
            [.read, .list, .sudo]
        ),
        ACLCase("legacy deny", ["path \"a\" { policy = \"deny\"\n capabilities = [\"read\"] }"], "a", []),
    ]

    @Test(arguments: cases)
    func capabilities(of testCase: ACLCase) throws {
        let acl = try acl(testCase.policies)
        #expect(acl.capabilities(for: testCase.path) == testCase.expected)
        #expect(
            ACL(
                policies: try testCase.policies.reversed().enumerated().map {
                    try ACLPolicy.parse(name: "r\($0.offset)", text: $0.element)
                }
            ).capabilities(for: testCase.path) == testCase.expected,
            "policy order must not matter"
        )
    }

    @Test func denyWinsForEveryOperation() throws {
        let acl = try acl([
            rule("foo/*", "\"create\", \"read\", \"update\", \"patch\", \"delete\", \"list\", \"scan\", \"sudo\""),
            rule("foo/private/*", "\"deny\""),
        ])
        for operation in LogicalOperation.allCases where operation != .help {
            #expect(!acl.allows(operation, path: "foo/private/x/"), "\(operation)")
            #expect(acl.allows(operation, path: "foo/public/x/"), "\(operation)")
        }
        #expect(!acl.hasSudo(path: "foo/private/x"))
        #expect(acl.hasSudo(path: "foo/x"))
        #expect(acl.capabilityNames(for: "foo/private/x") == ["deny"])
    }

    @Test func listFallsBackToTheExactRuleWithoutTrailingSlash() throws {
        let acl = try acl([rule("secret/metadata", "\"list\"")])
        #expect(acl.allows(.list, path: "secret/metadata/"))
        #expect(!acl.allows(.read, path: "secret/metadata/"))
        #expect(acl.capabilities(for: "secret/metadata/").isEmpty)
    }

    @Test func rootAllowsEverything() {
        for operation in LogicalOperation.allCases {
            #expect(ACL.root.allows(operation, path: "sys/seal", parameters: ["x": "y"]))
        }
        #expect(ACL.root.hasSudo(path: "anything"))
        #expect(ACL.root.capabilityNames(for: "x") == ["root"])
        #expect(ACL.root.capabilities(for: "x") == Set(Capability.allCases).subtracting([.deny]))
    }

    @Test func emptyACLDeniesButHelpIsAllowed() {
        let acl = ACL(policies: [])
        #expect(acl.capabilityNames(for: "secret/x") == ["deny"])
        #expect(!acl.allows(.read, path: "secret/x"))
        #expect(acl.allows(.help, path: "secret/x"))
    }

    @Test func capabilityNamesAreSorted() throws {
        let acl = try acl([rule("secret/data/x", "\"update\", \"read\", \"list\", \"create\"")])
        #expect(acl.capabilityNames(for: "secret/data/x") == ["create", "list", "read", "update"])
    }

    @Test func defaultPolicy() throws {
        let acl = ACL(policies: [ACLPolicy.defaultPolicy])
        #expect(ACLPolicy.defaultPolicy.name == "default")
        #expect(acl.allows(.read, path: "auth/token/lookup-self"))
        #expect(acl.allows(.update, path: "auth/token/renew-self"))
        #expect(acl.allows(.update, path: "auth/token/revoke-self"))
        #expect(acl.allows(.update, path: "sys/capabilities-self"))
        #expect(acl.allows(.update, path: "sys/leases/renew"))
        #expect(acl.allows(.update, path: "sys/leases/lookup"))
        #expect(acl.allows(.update, path: "sys/renew"))
        #expect(acl.allows(.read, path: "sys/internal/ui/resultant-acl"))
        #expect(acl.allows(.update, path: "sys/wrapping/wrap"))
        #expect(acl.allows(.update, path: "sys/wrapping/lookup"))
        #expect(acl.allows(.update, path: "sys/wrapping/unwrap"))
        #expect(acl.allows(.create, path: "cubbyhole/x"))
        #expect(acl.allows(.list, path: "cubbyhole/"))
        #expect(!acl.allows(.update, path: "auth/token/create"))
        #expect(!acl.allows(.read, path: "sys/mounts"))
        #expect(!acl.allows(.update, path: "sys/leases/revoke"))
        #expect(!acl.allows(.read, path: "database/creds/x"))
    }

    @Test func parameterConstraintsApplyToWrites() throws {
        let acl = try acl([
            """
            path "database/roles/*" {
              capabilities = ["create", "update", "read"]
              allowed_parameters = {
                "db_name" = ["main", "reporting-*"]
                "default_ttl" = []
              }
              denied_parameters = { "creation_statements" = [] }
              required_parameters = ["db_name"]
            }
            """
        ])
        #expect(acl.allows(.create, path: "database/roles/r", parameters: ["db_name": "main"]))
        #expect(
            acl.allows(.update, path: "database/roles/r", parameters: ["db_name": "reporting-eu", "default_ttl": "1h"])
        )
        #expect(!acl.allows(.update, path: "database/roles/r", parameters: ["db_name": "other"]))
        #expect(!acl.allows(.update, path: "database/roles/r", parameters: ["default_ttl": "1h"]), "required missing")
        #expect(
            !acl.allows(.update, path: "database/roles/r", parameters: ["db_name": "main", "creation_statements": "x"])
        )
        #expect(!acl.allows(.update, path: "database/roles/r", parameters: ["db_name": "main", "extra": "x"]))
        #expect(
            !acl.allows(.update, path: "database/roles/r", parameters: ["DB_NAME": "main"]),
            "a required name must be sent as the handler reads it"
        )
        #expect(
            !acl.allows(.update, path: "database/roles/r", parameters: ["db_name": "main", "DEFAULT_TTL": "x", "CREATION_STATEMENTS": "y"]),
            "other names are checked case-insensitively: CREATION_STATEMENTS is denied"
        )
        #expect(!acl.allows(.update, path: "database/roles/r", parameters: ["db_name": ["main", "x"]]))
        #expect(acl.allows(.update, path: "database/roles/r", parameters: ["db_name": ["main", "reporting-x"]]))
    }

    /// What handlers read is what is checked: a list (or a comma-separated string) is denied when any element is;
    /// required names must be sent exactly; two names that differ only in case refuse the request.
    @Test func parameterConstraintsCannotBeSteppedAroundByListsCaseOrCommas() {
        let denied = ParameterConstraints(denied: ["token_policies": ["admin"]])
        for value: JSONValue in [["admin", "x"], ["x", ["admin"]], "admin,x", "x, admin", " admin", [" admin "]] {
            #expect(!denied.permits(["token_policies": value]), "\(value)")
        }
        #expect(denied.permits(["token_policies": ["x", "y"]]))
        #expect(denied.permits(["token_policies": "x,y"]))

        let allowed = ParameterConstraints(allowed: ["token_policies": ["app"]])
        for value: JSONValue in ["app,admin", ["app", "admin"], ["app", "app,admin"]] {
            #expect(!allowed.permits(["token_policies": value]), "\(value)")
        }
        #expect(allowed.permits(["token_policies": "app"]))
        #expect(allowed.permits(["token_policies": "app,app"]))
        #expect(allowed.permits(["token_policies": ["app"]]))

        // A glob allows single values, never a list spelled as one string around it.
        let globbed = ParameterConstraints(allowed: ["policies": ["team-*"]])
        #expect(globbed.permits(["policies": "team-a"]))
        #expect(globbed.permits(["policies": "team-a, team-b"]))
        #expect(!globbed.permits(["policies": "team-a,admin"]))
        // Denied values under every reading a handler gives them: case, and the scalars a flag is coerced from.
        #expect(!denied.permits(["token_policies": ["Admin"]]))
        #expect(!denied.permits(["token_policies": "ADMIN,x"]))
        let flag = ParameterConstraints(denied: ["no_parent": [true]])
        for value: JSONValue in [true, "true", "1", 1, "yes", "T", 2] { #expect(!flag.permits(["no_parent": value]), "\(value)") }
        for value: JSONValue in [false, "false", "0", 0, "no"] { #expect(flag.permits(["no_parent": value]), "\(value)") }
        // An empty string is false to handlers, so it is false to a constraint too.
        let off = ParameterConstraints(denied: ["renewable": [false]])
        for value: JSONValue in [false, "false", "0", 0, "", " "] { #expect(!off.permits(["renewable": value]), "\(value)") }

        let required = ParameterConstraints(required: ["num_uses"])
        #expect(required.permits(["num_uses": 1]))
        #expect(!required.permits(["NUM_USES": 1]), "the handler reads num_uses only")

        // Either spelling may be the one the check sees; refuse rather than check one and let the other through.
        let both: [String: JSONValue] = ["token_policies": ["app"], "TOKEN_POLICIES": ["admin"]]
        #expect(!allowed.permits(both))
        #expect(!ParameterConstraints(denied: ["other": []]).permits(both))
    }

    @Test func parameterWildcards() {
        let denyAll = ParameterConstraints(denied: ["*": []])
        #expect(denyAll.permits([:]))
        #expect(!denyAll.permits(["a": "b"]))
        let allowAll = ParameterConstraints(allowed: ["*": []], denied: ["secret": []])
        #expect(allowAll.permits(["a": "b"]))
        #expect(!allowAll.permits(["secret": "b"]))
        let allowSome = ParameterConstraints(allowed: ["*": [], "ttl": ["1h"]])
        #expect(allowSome.permits(["other": 1]))
        #expect(!allowSome.permits(["ttl": "2h"]))
        let globs = ParameterConstraints(allowed: ["name": ["*-prod", "dev-*", "*mid*", "exact", 5]])
        for value: JSONValue in ["a-prod", "dev-a", "xmidx", "exact", 5] { #expect(globs.permits(["name": value])) }
        for value: JSONValue in ["prod-a", "a-dev", "exac", "5", true] { #expect(!globs.permits(["name": value])) }
    }

    @Test func constraintsMergeAcrossPolicies() throws {
        let acl = try acl([
            "path \"r\" { capabilities = [\"update\"]\n allowed_parameters = { \"a\" = [\"1\"] } }",
            "path \"r\" { capabilities = [\"create\"]\n allowed_parameters = { \"a\" = [\"2\"], \"b\" = [] } }",
        ])
        #expect(acl.allows(.update, path: "r", parameters: ["a": "1", "b": "x"]))
        #expect(acl.allows(.create, path: "r", parameters: ["a": "2"]))
        #expect(!acl.allows(.update, path: "r", parameters: ["a": "3"]))
        #expect(!acl.allows(.read, path: "r"))
    }

    @Test func wrappingTTLsMerge() throws {
        let acl = try acl([
            "path \"w\" { capabilities = [\"read\"]\n min_wrapping_ttl = \"1m\"\n max_wrapping_ttl = \"1h\" }",
            "path \"w\" { capabilities = [\"read\"]\n min_wrapping_ttl = 30\n max_wrapping_ttl = \"2h\" }",
        ])
        let permissions = try #require(acl.permissions(for: "w"))
        #expect(permissions.minimumWrappingTTL == TTL(seconds: 30))
        #expect(permissions.maximumWrappingTTL == TTL(seconds: 7200))
    }
}
