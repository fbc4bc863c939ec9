import LeaseholdCore
import Testing

@testable import LeaseholdPolicy

@Suite("Request path normalization")
struct RequestPathTests {
    @Test(arguments: [
        ("secret/data/app", "secret/data/app"),
        ("secret/metadata/", "secret/metadata/"),
        ("sys/policies/acl/my%20policy", "sys/policies/acl/my policy"),
        ("caf%C3%A9", "café"),
        ("a.b/..c/d..", "a.b/..c/d.."),
        ("database/creds/+x", "database/creds/+x"),
    ])
    func accepts(raw: String, normalized: String) throws {
        #expect(try RequestPath.normalize(raw) == normalized)
        #expect(try RequestPath.normalize(normalized) == normalized, "idempotent")
    }

    @Test(arguments: [
        "", "/", "/secret", "secret/../sys/seal", "secret/..", "..", ".", "a/./b", "a//b", "a//", "secret/%2e%2e/x",
        "secret/%2E%2E/x", "a/%2e/b", "a%2fb", "a%2Fb", "%252e%252e", "a%25b", "a%5cb", "a\\b", "a\u{0}", "a%00",
        "a%0a", "a\nb", "a\u{7f}", "a%7F", "a%", "a%2", "a%zz", "a%C3", "a%FF", "x\u{85}y",
        String(repeating: "a", count: 4097),
    ])
    func rejects(raw: String) {
        #expect(throws: LeaseholdError.invalidRequest("invalid request path")) { try RequestPath.normalize(raw) }
    }

    @Test func acceptsTheMaximumLength() throws {
        #expect(try RequestPath.normalize(String(repeating: "a", count: 4096)).count == 4096)
    }

    @Test func variantsCannotReachAnotherPolicyPath() throws {
        let acl = ACL(policies: [
            try ACLPolicy.parse(name: "p", text: "path \"secret/*\" { capabilities = [\"delete\"] }")
        ])
        for raw in ["secret/../sys/seal", "secret/%2e%2e/sys/seal", "secret/%252e%252e/sys/seal", "secret//../sys"] {
            #expect(throws: LeaseholdError.self) { try RequestPath.normalize(raw) }
        }
        #expect(acl.allows(.delete, path: try RequestPath.normalize("secret/x")))
    }
}
