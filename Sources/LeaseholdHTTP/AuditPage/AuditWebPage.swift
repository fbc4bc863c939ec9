import Foundation
import HTTPTypes
import Hummingbird
import LeaseholdCore
import LeaseholdService
import NIOCore
import NIOSSL

/// The read-only page for auditors at `/ui/audit`: active leases, lease history with the audit filters, and a
/// chart of active leases per role. Server-rendered HTML, no scripts.
///
/// It is an in-process client of the API: every figure comes from `sys/audit-log…` requests made with the
/// auditor's own token, so the policy decides what the page may show and each view is audited. The token lives
/// only in an `HttpOnly`, `SameSite=Strict` cookie scoped to `/ui/audit` (`Secure` on TLS listeners) and is
/// never written into the page.
struct AuditWebPage {
    let broker: Broker

    static let basePath = "/ui/audit"
    static let cookieName = "leasehold_audit_token"
    /// The filter fields of the page, with their labels (query parameters of `sys/audit-log`).
    static let filters: [(name: String, label: String)] = [
        ("since", "Since"), ("until", "Until"), ("type", "Event types"), ("environment", "Environment"),
        ("role", "Role"), ("db_username", "Database user"), ("display_name", "Identity"), ("lease_id", "Lease"),
        ("outcome", "Outcome"),
    ]

    func respond(to request: Request, context: BrokerRequestContext) async -> Response {
        let path = request.uri.path
        switch (request.method, path) {
        case (.get, Self.basePath), (.head, Self.basePath):
            return await page(request, context: context)
        case (.post, Self.basePath + "/login"), (.post, Self.basePath + "/logout"):
            guard Self.isSameOrigin(request) else {
                return html(status: .forbidden, AuditPageHTML.login(message: "Requests from other sites are refused."))
            }
            if path.hasSuffix("/logout") { return redirect(clearing: true, secure: await isTLS(context)) }
            return await login(request, context: context)
        default:
            return html(status: .notFound, AuditPageHTML.document(title: "Not found", body: "<p>Not found.</p>"))
        }
    }

    // MARK: Session

    private func token(of request: Request) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.trimmingWhitespace().split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, parts[0] == Self.cookieName, !parts[1].isEmpty { return parts[1] }
        }
        return nil
    }

    /// Whether a form post comes from this page's own origin. Browsers send `Origin` (and `Sec-Fetch-Site`) with
    /// every `POST`; one sent from another site is refused, so no other site can log an auditor in (as someone
    /// else) or out. The origin's host and port must be the request's `Host` (the scheme is not compared: a proxy
    /// may end TLS). A request with neither header is not from a browser, and no other site can make one send it.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" {
            return false
        }
        guard let origin = request.headers[HTTPField.Name("Origin")!] else { return true }
        guard let components = URLComponents(string: origin), let host = components.host, !host.isEmpty,
            let authority = request.head.authority
        else { return false }
        let originAuthority = host + (components.port.map { ":\($0)" } ?? "")
        return originAuthority.lowercased() == authority.lowercased()
    }

    private func isTLS(_ context: BrokerRequestContext) async -> Bool {
        (try? await context.channel.pipeline.handler(type: NIOSSLServerHandler.self).get()) != nil
    }

    private func login(_ request: Request, context: BrokerRequestContext) async -> Response {
        guard let body = try? await request.body.collect(upTo: 8192),
            let token = URLComponents(string: "?" + String(buffer: body))?.queryItems?.first(where: { $0.name == "token" })?.value,
            !token.isEmpty, token.count <= 512, token.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != ";" && $0 != "," })
        else {
            return html(status: .badRequest, AuditPageHTML.login(message: "Enter a broker token."))
        }
        do {
            _ = try await query("sys/audit-log", ["limit": "1"], token: token, context: context)
        } catch {
            return html(status: .forbidden, AuditPageHTML.login(message: "This token cannot read the audit log."))
        }
        var response = redirect(clearing: false, secure: false)
        response.headers[.setCookie] = Self.cookie(token, secure: await isTLS(context))
        return response
    }

    /// The session cookie holding `value` (empty: cleared), scoped to the page, never readable by scripts.
    static func cookie(_ value: String, secure: Bool) -> String {
        "\(cookieName)=\(value); Path=\(basePath)" + (value.isEmpty ? "; Max-Age=0" : "") + "; HttpOnly; SameSite=Strict"
            + (secure ? "; Secure" : "")
    }

    private func redirect(clearing: Bool, secure: Bool) -> Response {
        var response = Response(status: .seeOther)
        response.headers[.location] = Self.basePath
        if clearing { response.headers[.setCookie] = Self.cookie("", secure: secure) }
        return response
    }

    // MARK: Page

    private func page(_ request: Request, context: BrokerRequestContext) async -> Response {
        guard let token = token(of: request) else { return html(status: .ok, AuditPageHTML.login(message: nil)) }
        var filters: [String: String] = [:]
        for (name, _) in Self.filters {
            if let value = request.uri.queryParameters[Substring(name)], !value.isEmpty { filters[name] = String(value) }
        }
        do {
            var historyQuery = filters
            historyQuery["order"] = "desc"
            historyQuery["limit"] = "200"
            if historyQuery["type"] == nil { historyQuery["type"] = "lease.*" }
            let history = try await query("sys/audit-log", historyQuery, token: token, context: context)
            let active = try await query("sys/audit-log/active", filters.filter { ["role", "environment"].contains($0.key) }, token: token, context: context)
            let window = ActiveLeaseChart.window(endingAt: Date())
            let events = try await leaseEvents(since: window.lowerBound, token: token, context: context)
            let chart = ActiveLeaseChart(events: events, active: active["leases"]?.arrayValue ?? [], window: window)
            let body = AuditPageHTML.dashboard(
                filters: filters, records: history["records"]?.arrayValue ?? [], active: active["leases"]?.arrayValue ?? [],
                chart: chart.svg())
            return html(status: .ok, body)
        } catch let error as LeaseholdError where error.code == .permissionDenied {
            var response = html(status: .forbidden, AuditPageHTML.login(message: "This token cannot read the audit log."))
            response.headers[.setCookie] = Self.cookie("", secure: await isTLS(context))
            return response
        } catch let error as LeaseholdError {
            return html(status: .badRequest, AuditPageHTML.document(title: "Audit", body: "<p class=\"error\">\(HTMLText.escape(error.message))</p><p><a href=\"\(Self.basePath)\">Back</a></p>"))
        } catch {
            return html(status: .internalServerError, AuditPageHTML.document(title: "Audit", body: "<p class=\"error\">internal error</p>"))
        }
    }

    /// Lease events since `start`, oldest first (at most 10,000 for the chart).
    private func leaseEvents(since start: Date, token: String, context: BrokerRequestContext) async throws -> [JSONValue] {
        var events: [JSONValue] = []
        var cursor: String?
        repeat {
            var parameters = ["type": "lease.*", "since": String(start.timeIntervalSince1970), "limit": "1000"]
            if let cursor { parameters["after"] = cursor }
            let page = try await query("sys/audit-log", parameters, token: token, context: context)
            events += page["records"]?.arrayValue ?? []
            cursor = page["next_cursor"]?.numberValue.map { String(Int64($0)) }
        } while cursor != nil && events.count < 10_000
        return events
    }

    private func query(_ path: String, _ parameters: [String: String], token: String, context: BrokerRequestContext) async throws -> [String: JSONValue] {
        let request = LogicalRequest(
            operation: .read, path: path, data: RequestData(parameters.mapValues(JSONValue.string)),
            clientToken: SecretValue(token), remoteAddress: context.remoteAddress)
        return try await broker.handle(request).data ?? [:]
    }

    private func html(status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
