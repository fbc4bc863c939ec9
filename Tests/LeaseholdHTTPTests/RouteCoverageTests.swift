import Foundation
import HTTPTypes
import LeaseholdCore
@testable import LeaseholdService
import Testing

/// Every route, enumerated from the routers themselves: only the documented ones answer without a token, and every
/// other one refuses a request without a token (403) and leaves a denied audit row.
@Suite("Route coverage: authentication and audit on every route")
struct RouteCoverageTests {
    /// The routes that need no token besides the bootstrap endpoints (`sys/init`, `sys/seal-status`, `sys/unseal`,
    /// `sys/health`, `sys/leader`): logins, the UI's mount listing and wrapping lookup.
    static let unauthenticated: Set<String> = [
        "sys/internal/ui/mounts", "sys/internal/ui/mounts/*", "sys/wrapping/lookup",
        "auth/approle/login", "auth/userpass/login/:", "auth/cert/login", "auth/jwt/login", "auth/kubernetes/login",
    ]

    /// Every route with its full path pattern, under mounts named after their type.
    static func allRoutes() -> [(path: String, route: Route)] {
        func mounted(_ prefix: String, _ routes: [Route]) -> [(String, Route)] { routes.map { (prefix + text(of: $0.pattern), $0) } }
        var all = mounted("", SystemBackend.routes + WrappingBackend.routes + LeaseBackend.routes + AuditLogBackend.routes
            + AuditDeviceBackend.routes + TokenBackend.routes)
        all += mounted("database/", DatabaseBackend.routes)
        for (type, routes) in [("approle", AppRoleBackend.routes), ("userpass", UserpassBackend.routes), ("cert", CertBackend.routes),
                               ("jwt", JWTBackend.routes), ("kubernetes", KubernetesBackend.routes)] {
            all += mounted("auth/\(type)/", routes)
        }
        return all
    }

    /// A pattern as text, parameters shown as `:` and remainders as `*`.
    static func text(of pattern: RoutePattern) -> String {
        pattern.segments.map { segment in
            switch segment {
            case .literal(let literal): literal
            case .parameter: ":"
            case .remainder: "*"
            }
        }.joined(separator: "/")
    }

    /// A concrete path for a pattern text.
    static func concrete(_ pattern: String) -> String {
        pattern.split(separator: "/").map { $0 == ":" ? "probe" : ($0 == "*" ? "probe/deeper" : String($0)) }.joined(separator: "/")
    }

    @Test func onlyTheDocumentedRoutesNeedNoToken() {
        let open = Set(Self.allRoutes().filter { $0.route.authentication == .none }.map(\.path))
        #expect(open == Self.unauthenticated)
    }

    @Test func everyOtherRouteRefusesARequestWithoutATokenAndAuditsIt() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withClient { api in
            for (type, path) in [("database", "database"), ("approle", "approle"), ("userpass", "userpass"), ("cert", "cert"),
                                 ("jwt", "jwt"), ("kubernetes", "kubernetes")] {
                let enable = type == "database" ? "sys/mounts/\(path)" : "sys/auth/\(path)"
                #expect(try await api.send(.post, enable, token: root, json: ["type": .string(type)]).status == 204)
            }
            var refused = 0
            for (pattern, route) in Self.allRoutes() where route.authentication == .token {
                let path = Self.concrete(pattern)
                for operation in route.handlers.keys {
                    let method: HTTPRequest.Method = switch operation {
                    case .read: .get
                    case .list: .init("LIST")!
                    case .delete: .delete
                    default: .post
                    }
                    let reply = try await api.send(method, path, json: method == .get || method == .delete ? nil : [:])
                    #expect(reply.status == 403, "\(method) \(path) → \(reply.status)")
                    if reply.status == 403 { refused += 1 }
                }
            }
            #expect(refused > 100)
            // One denied audit row per refusal, none of them with an identity.
            let records = try await harness.store.auditRecords(after: 0, limit: 100_000)
            let denied = records.filter { $0.event.outcome == "denied" }
            #expect(denied.count == refused)
            #expect(denied.allSatisfy { $0.event.actor.accessor.isEmpty && $0.event.actor.tokenHMAC.isEmpty })
        }
    }
}
