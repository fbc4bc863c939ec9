import Foundation
import HTTPTypes
import LeaseholdCore
import Testing

@Suite("Wire format: envelopes, status codes and limits")
struct WireFormatTests {
    @Test func successEnvelopeHasVaultFields() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let reply = try await api.send(.get, "auth/token/lookup-self", token: root)
            #expect(reply.status == 200)
            for field in ["request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"] {
                #expect(reply.object[field] != nil, "missing \(field)")
            }
            #expect(reply.data["policies"] == .strings(["root"]))
        }
    }

    @Test func emptyWriteIs204AndMissingReadIs404WithEmptyErrors() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let write = try await api.send(.put, "sys/policies/acl/app", token: root, json: ["policy": "path \"a/*\" { capabilities = [\"read\"] }"])
            #expect(write.status == 204)
            #expect(write.text.isEmpty)
            let missing = try await api.send(.get, "sys/policies/acl/nope", token: root)
            #expect(missing.status == 404)
            #expect(missing.text == "{\"errors\":[]}")
        }
    }

    @Test func postAndPutAreSynonymsAndListVerbEqualsQueryParameter() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.post, "sys/policies/acl/a", token: root, json: ["policy": "path \"x\" { capabilities = [\"read\"] }"]).status == 204)
            #expect(try await api.send(.put, "sys/policies/acl/b", token: root, json: ["policy": "path \"x\" { capabilities = [\"read\"] }"]).status == 204)
            let viaVerb = try await api.send(.list, "sys/policies/acl", token: root)
            let viaQuery = try await api.send(.get, "sys/policies/acl?list=true", token: root)
            #expect(viaVerb.status == 200)
            #expect(viaVerb.data["keys"] == viaQuery.data["keys"])
            #expect(viaVerb.data["keys"] == .strings(["a", "b", "default", "root"]))
        }
    }

    @Test func bearerAuthorizationWorksAndBadTokensAre403() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let bearer = try await api.send(.get, "auth/token/lookup-self", headers: [.authorization: "Bearer \(root)"])
            #expect(bearer.status == 200)
            let none = try await api.send(.get, "auth/token/lookup-self")
            #expect(none.status == 403)
            #expect(none.errors == ["permission denied"])
            let wrong = try await api.send(.get, "auth/token/lookup-self", token: "s.wrong")
            #expect(wrong.status == 403)
        }
    }

    @Test func unknownPathIs404AndUnsupportedOperationIs405() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let unknown = try await api.send(.get, "nomount/foo", token: root)
            #expect(unknown.status == 404)
            #expect(unknown.errors.first?.contains("no handler for route") == true)
            #expect(try await api.send(.delete, "sys/capabilities-self", token: root).status == 405)
            #expect(try await api.send(HTTPRequest.Method("BREW")!, "sys/health").status == 405)
        }
    }

    @Test func oversizedBodyIs413() async throws {
        let harness = try await BrokerHarness.make(maximumBodySize: 1024)
        try await harness.withClient { api in
            let big = "{\"policy\":\"" + String(repeating: "a", count: 4096) + "\"}"
            let reply = try await api.send(.put, "sys/policies/acl/x", token: "t", raw: big)
            #expect(reply.status == 413)
        }
    }

    @Test func malformedJSONIs400AndTheInputIsNotEchoed() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let canary = "CANARY-\(UUID().uuidString)"
            let reply = try await api.send(.put, "sys/policies/acl/x", token: root, raw: "{\"policy\": \"\(canary)")
            #expect(reply.status == 400)
            #expect(!reply.text.contains(canary))
            // A body two readers could see differently (first or last of a repeated name) is refused.
            let repeated = "{\"policy\": \"path \\\"a\\\" { capabilities = [\\\"read\\\"] }\", \"policy\": \"\(canary)\"}"
            let duplicate = try await api.send(.put, "sys/policies/acl/x", token: root, raw: repeated)
            #expect(duplicate.status == 400)
            #expect(!duplicate.text.contains(canary))
            #expect(try await api.send(.get, "sys/policies/acl/x", token: root).status == 404)
        }
    }

    /// HEAD answers only on the health and status endpoints, as in Vault; elsewhere it is 405 and does nothing (it
    /// did what GET does and dropped the answer: a credential issued, a token's use spent).
    @Test func headIsRefusedExceptOnHealthAndStatus() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let once = try await api.send(.post, "auth/token/create", token: root, json: ["num_uses": 1]).clientToken
            #expect(try await api.send(.head, "auth/token/lookup-self", token: once).status == 405)
            #expect(try await api.send(.get, "auth/token/lookup-self", token: once).status == 200, "the HEAD used nothing")
            #expect(try await api.send(.head, "sys/mounts", token: root).status == 405)
            for path in ["sys/health", "sys/seal-status", "sys/leader", "sys/init"] {
                #expect(try await api.send(.head, path).status == 200, "\(path)")
            }
        }
    }

    @Test func tooManyStringsOrTooDeepJSONIsRefusedBeforeParsing() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let many = "{" + (0..<600).map { "\"k\($0)\":\"v\"" }.joined(separator: ",") + "}"
            let wide = try await api.send(.put, "sys/wrapping/wrap", token: root, raw: many)
            #expect(wide.status == 400)
            #expect(wide.errors.first?.contains("exceeded maximum number of strings") == true)
            let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
            let nested = try await api.send(.put, "sys/wrapping/wrap", token: root, raw: "{\"a\":\(deep)}")
            #expect(nested.status == 400)
            // Numbers are no strings: a long array of them is bounded by its entry count.
            let numbers = "{\"a\":[" + Array(repeating: "0", count: 10_001).joined(separator: ",") + "]}"
            let long = try await api.send(.put, "sys/wrapping/wrap", token: root, raw: numbers)
            #expect(long.status == 400)
            #expect(long.errors.first?.contains("exceeded maximum number of entries") == true)
            let fits = "{\"a\":[" + Array(repeating: "0", count: 10_000).joined(separator: ",") + "]}"
            let fitting = try await api.send(.put, "sys/wrapping/wrap", token: root, raw: fits)
            #expect(fitting.errors.first?.contains("complexity") != true)
        }
        // Many arrays of numbers, each within the entry limit: the whole body is bounded too (a 32 MiB body of these
        // parsed into gigabytes, with no token needed).
        let bulky = try await BrokerHarness.make(maximumBodySize: 4 << 20)
        try await bulky.withClient { api in
            let row = "[" + Array(repeating: "0", count: 1_000).joined(separator: ",") + "]"
            let body = "{\"a\":[" + Array(repeating: row, count: 101).joined(separator: ",") + "]}"
            let refused = try await api.send(.put, "sys/unseal", raw: body)
            #expect(refused.status == 400)
            #expect(refused.errors.first?.contains("exceeded maximum number of values") == true)
        }
        // Within a body limit that lets it through, a string of over 1 MiB is refused before parsing.
        let roomy = try await BrokerHarness.make(maximumBodySize: 4 << 20)
        try await roomy.withClient { api in
            let huge = "{\"key\":\"" + String(repeating: "x", count: (1 << 20) + 1) + "\"}"
            let string = try await api.send(.put, "sys/unseal", raw: huge)
            #expect(string.status == 400)
            #expect(string.errors.first?.contains("exceeded maximum string length") == true)
        }
    }

    /// A number too large for an integer is text like any other, never a crash: before, `1e300` in any string
    /// field (the unseal key, a policy name) trapped the whole process, with no token needed.
    @Test func hugeNumbersInStringFieldsAreRefusedNotFatal() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let unseal = try await api.send(.put, "sys/unseal", raw: "{\"key\":1e300}")
            #expect(unseal.status < 500)
            let policies = try await api.send(.post, "auth/token/create", token: root, raw: "{\"policies\":[1e300, -1e300]}")
            #expect(policies.status < 500)
            let displayName = try await api.send(.post, "auth/token/create", token: root, raw: "{\"display_name\":1e300}")
            #expect(displayName.status == 200)
            #expect(try await api.send(.get, "sys/seal-status").object["sealed"] == false)
        }
    }

    @Test(arguments: ["secret/../sys/seal", "sys/%2e%2e/seal", "a//b", "sys/./seal", "sys/%252e%252e/x", "sys/seal%00"])
    func traversalPathsAreRejected(path: String) async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let reply = try await api.send(.put, path, token: root)
            #expect(reply.status == 400, "\(path) → \(reply.status)")
            #expect(try await api.send(.get, "sys/seal-status").object["sealed"] == false)
        }
    }

    @Test func patchNeedsMergePatchContentType() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let reply = try await api.send(.patch, "sys/policies/acl/x", token: root, json: ["policy": "x"])
            #expect(reply.status == 415)
        }
    }

    @Test func legacyRoutesDuplicateDataAtTopLevel() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            let mounts = try await api.send(.get, "sys/mounts", token: root)
            #expect(mounts.object["sys/"] != nil)
            #expect(mounts.data["sys/"] != nil)
            let policies = try await api.send(.get, "sys/policy", token: root)
            #expect(policies.object["policies"] == policies.data["policies"])
        }
    }

    @Test func prometheusMetricsNeedAToken() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            #expect(try await api.send(.get, "sys/metrics?format=prometheus").status == 403)
            let reply = try await api.send(.get, "sys/metrics?format=prometheus", token: root)
            #expect(reply.status == 200)
            #expect(reply.text.contains("leasehold_test"))
        }
    }
}
