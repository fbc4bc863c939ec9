import Foundation
import LeaseholdAuth
import LeaseholdCore
import LeaseholdPolicy
import Logging

/// The broker: answers logical requests with Vault's semantics.
///
/// For every request that reaches authentication it resolves the token, checks the ACL (default deny), runs the
/// backend's handler, and commits the handler's writes together with one audit row in a single store batch.
/// If that commit fails, the request fails: nothing is answered without its audit row.
public final class Broker: Sendable {
    /// The seal state.
    public let seal: SealManager
    let store: any BrokerStore
    let limits: LeaseLimits
    let information: ServerInformation
    let logger: Logger
    let now: @Sendable () -> Date
    /// Parsed policies, each with the ciphertext it was parsed from (see ``PolicyStore``).
    let parsedPolicies = DecodedValueCache()
    /// Failed-login limits shared by every auth method.
    let loginThrottle: LoginThrottle
    /// Per-role locks for issuances counted against lease caps (see ``CredentialIssuer``).
    let issuanceLocks = KeyedAsyncLock()
    /// Runs userpass password hashing off the cooperative pool, bounded (see ``UserpassBackend``).
    let passwordHashing = UserpassBackend.hashingLimiter()
    /// Identity providers' signing keys, fetched once and shared by every JWT login.
    let jwksCache = JWKSCache()
    let metrics = BrokerMetrics()
    /// The target-database engines, when the executable provides a factory.
    public let engines: DatabaseEngines?
    /// Wakes the reaper when a lease is scheduled sooner than it planned to look.
    public let reaperSignal = ReaperSignal()
    /// Wakes the audit sinks after each commit that appended audit rows.
    public let auditSignal = AuditDeliverySignal()
    /// Whether `sys/audit` may enable audit devices (`unsafe_allow_api_audit_creation`; see ``AuditDeviceBackend``).
    let allowsAPIAuditDeviceCreation: Bool
    /// This instance's encryptions under the data key, for its rotation (see ``DataKeyUsageRecorder``).
    public let dataKeyUsage: DataKeyUsage
    /// Whether this instance runs the store-wide background work (``LeaderOnlyService``), for `sys/leader`.
    public let leadership: Leadership
    private let routes: [(prefix: String, routes: [Route])]

    /// Creates a broker over `store`.
    public init(
        store: any BrokerStore, seal: SealManager, limits: LeaseLimits, information: ServerInformation,
        logger: Logger, engines: DatabaseEngines? = nil, loginThrottle: LoginThrottle = LoginThrottle(),
        leadership: Leadership = .sole(), allowsAPIAuditDeviceCreation: Bool = false,
        dataKeyUsage: DataKeyUsage = DataKeyUsage(), now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.dataKeyUsage = dataKeyUsage
        self.allowsAPIAuditDeviceCreation = allowsAPIAuditDeviceCreation
        self.loginThrottle = loginThrottle
        self.leadership = leadership
        self.engines = engines
        self.store = store
        self.seal = seal
        self.limits = limits
        self.information = information
        self.logger = logger
        self.now = now
        self.routes = [
            ("sys/", SystemBackend.routes + RootGenerationBackend.routes + WrappingBackend.routes + LeaseBackend.routes + AuditLogBackend.routes + AuditDeviceBackend.routes),
            ("auth/token/", TokenBackend.routes),
        ]
    }

    /// Handles a request. Errors are ``LeaseholdError`` values with caller-safe messages.
    public func handle(_ request: LogicalRequest) async throws -> LogicalResponse {
        try await handle(request, systemCaller: nil)
    }

    /// Runs a request as the broker itself (for the roles directory), with root privileges, audited under
    /// `component`. Only in-process callers can reach this: no HTTP path leads here.
    public func handleAsSystem(_ request: LogicalRequest, component: String) async throws -> LogicalResponse {
        let caller = TokenEntry(
            hash: "", accessor: "", policies: ["root"], meta: [:], displayName: "system:" + component, parentHash: nil,
            path: "", creationTime: now(), creationTTL: 0, explicitMaxTTL: 0, period: 0, numUses: 0, renewable: false,
            expireTime: nil, lastRenewalTime: nil, role: nil, authMethod: "system", environment: "default", kind: "system")
        return try await handle(request, systemCaller: caller)
    }

    private func handle(_ request: LogicalRequest, systemCaller: TokenEntry?) async throws -> LogicalResponse {
        let started = ContinuousClock.now
        // Metrics are labelled by the path only once a route matched it: client-chosen paths must not become
        // label values (every new one would be a series kept forever).
        var routed = false
        do {
            let response = try await dispatch(request, systemCaller: systemCaller, routed: &routed)
            metrics.record(request: request, routed: routed, status: response.status ?? (response.isEmpty ? 204 : 200), since: started)
            return response
        } catch let error as LeaseholdError {
            metrics.record(request: request, routed: routed, status: HTTPStatus.code(for: error), since: started)
            throw error
        } catch {
            logger.error("unexpected error", metadata: ["request.id": "\(request.requestID)", "error.type": "\(type(of: error))"])
            metrics.record(request: request, routed: routed, status: 500, since: started)
            throw LeaseholdError(.internalError, "internal error")
        }
    }

    private func dispatch(_ request: LogicalRequest, systemCaller: TokenEntry?, routed: inout Bool) async throws -> LogicalResponse {
        if let bootstrap = try await BootstrapEndpoints(broker: self).handle(request) {
            routed = true
            return bootstrap
        }
        // A request that was running when the broker got sealed answers 503, whatever it did: nothing it read
        // with the keys leaves the process once the seal is done (its commit, if any, stands, like a lost answer).
        // `sys/seal` itself is what sealed, and answers as usual.
        let sealCount = seal.sealCount
        let response = try await dispatchUnsealed(request, systemCaller: systemCaller, routed: &routed)
        guard seal.sealCount == sealCount || request.path == "sys/seal" else { throw LeaseholdError.sealed }
        return response
    }

    private func dispatchUnsealed(
        _ request: LogicalRequest, systemCaller: TokenEntry?, routed: inout Bool
    ) async throws -> LogicalResponse {
        let keys = try await seal.keys()
        let services = makeServices(keys: keys)
        guard let (route, parameters, mount) = try await self.route(for: request.path, services: services) else {
            throw LeaseholdError(.unsupportedPath, "no handler for route \"\(request.path.prefix(256))\". route entry not found.")
        }
        routed = true
        var lastConflict: LeaseholdError?
        for _ in 0..<8 {
            do {
                return try await attempt(
                    request, route: route, parameters: parameters, mount: mount, services: services, systemCaller: systemCaller)
            } catch let error as LeaseholdError where error.code == .conflict {
                lastConflict = error
            }
        }
        throw lastConflict ?? LeaseholdError(.conflict, "too many concurrent changes; retry")
    }

    /// Throws `permissionDenied` unless `acl` lets `request` run `operation` (default deny):
    /// - the capability on the path, with the winning rule's parameter constraints on the request's fields;
    /// - a path sent with a trailing `/` for anything but a list is routed as if it had none, so both spellings
    ///   must be allowed (a deny or a narrower rule on the bare path cannot be stepped around with a slash);
    /// - `sudo` on the path(s) for root-protected operations;
    /// - the rule's `min_wrapping_ttl` / `max_wrapping_ttl`: a request under a minimum must ask for wrapping, and
    ///   no requested wrapping TTL may leave the range.
    static func authorize(_ request: LogicalRequest, operation: LogicalOperation, acl: ACL, needsSudo: Bool) throws {
        var paths = [request.path]
        if operation != .list, request.path.hasSuffix("/") { paths.append(String(request.path.dropLast())) }
        for path in paths {
            guard acl.allows(operation, path: path, parameters: request.data.inspectedFields), !needsSudo || acl.hasSudo(path: path)
            else { throw LeaseholdError.permissionDenied }
            guard acl.hasWrappingBounds, let permissions = acl.permissions(for: path) else { continue }
            if let minimum = permissions.minimumWrappingTTL, minimum.seconds > 0,
                (request.wrapTTL?.seconds ?? 0) < minimum.seconds
            {
                throw LeaseholdError(.permissionDenied, "wrapping TTL must be at least \(minimum) on this path")
            }
            if let maximum = permissions.maximumWrappingTTL, maximum.seconds > 0, let wrapTTL = request.wrapTTL,
                wrapTTL.seconds > maximum.seconds
            {
                throw LeaseholdError(.permissionDenied, "wrapping TTL must be at most \(maximum) on this path")
            }
        }
    }

    func makeServices(keys: UnsealedKeys) -> BrokerServices {
        let encrypted = EncryptedStore(
            base: store, keyRing: keys.keyRing, decodedValues: keys.decodedValues,
            newerKeyRing: { [seal] ciphertext in try await seal.keys(decrypting: ciphertext)?.keyRing }, usage: dataKeyUsage)
        let leases = LeaseStore(store: encrypted)
        return BrokerServices(
            store: encrypted, keys: keys,
            tokens: TokenStore(
                store: encrypted, hasher: keys.tokenHasher, limits: limits, leases: leases,
                commit: { [self] batch in try await self.commit(batch) }),
            policies: PolicyStore(store: encrypted, parsed: parsedPolicies), mounts: MountTable(store: encrypted),
            seal: seal, leadership: leadership, limits: limits, information: information, leases: leases, engines: engines,
            reaperSignal: reaperSignal, auditSignal: auditSignal, loginThrottle: loginThrottle,
            issuanceLocks: issuanceLocks, passwordHashing: passwordHashing, jwksCache: jwksCache,
            allowsAPIAuditDeviceCreation: allowsAPIAuditDeviceCreation,
            commit: { [self] batch in try await self.commit(batch) })
    }

    private func route(
        for path: String, services: BrokerServices
    ) async throws -> (Route, [String: String], MountEntry?)? {
        if let group = routes.first(where: { path.hasPrefix($0.prefix) || path + "/" == $0.prefix }) {
            for route in group.routes {
                if let parameters = route.pattern.match(path) { return (route, parameters, nil) }
            }
            return nil
        }
        if path.hasPrefix("auth/") {
            guard let mount = try await services.mounts.authMount(owning: path) else { return nil }
            let relative = String(path.dropFirst(min(path.count, 5 + mount.path.count)))
            for route in AuthRoutes.routes(for: mount) {
                if let parameters = route.pattern.match(relative) { return (route, parameters, mount) }
            }
            return nil
        }
        guard let mount = try await services.mounts.engine(owning: path) else { return nil }
        let relative = String(path.dropFirst(min(path.count, mount.path.count)))
        for route in EngineRoutes.routes(for: mount) {
            if let parameters = route.pattern.match(relative) { return (route, parameters, mount) }
        }
        return nil
    }

    private func attempt(
        _ request: LogicalRequest, route: Route, parameters: [String: String], mount: MountEntry?,
        services: BrokerServices, systemCaller: TokenEntry?
    ) async throws -> LogicalResponse {
        let now = self.now()
        let transaction = StoreTransaction(store: services.store)
        var caller: Versioned<TokenEntry>? = systemCaller.map { Versioned(value: $0, version: 0) }
        if systemCaller == nil, let token = request.clientToken {
            caller = try await services.tokens.lookup(token: token, now: now)
            // A token bound to CIDR blocks is no token at all from anywhere else (Vault checks on every use).
            if let entry = caller?.value, !entry.isUsable(from: request.remoteAddress) { caller = nil }
        } else if systemCaller == nil, route.authentication == .token, !request.path.hasPrefix("auth/token/"),
            let certificate = await request.clientCertificate.der()
        {
            // Direct mTLS: a certificate matching a cert entry with direct_authentication stands in for a token,
            // for this request only (token endpoints excluded: there is no stored token to act on).
            caller = try await CertBackend.directCaller(
                certificate, remoteAddress: request.remoteAddress, services: services, now: now
            ).map { Versioned(value: $0, version: 0) }
            if let fingerprint = caller?.value.boundCertificateFingerprint { transaction.annotate("certificate_fingerprint", fingerprint) }
        }
        var acl = ACL(policies: [])
        if let caller { acl = try await services.policies.acl(for: caller.value.policies, kind: caller.value.kind) }
        let context = OperationContext(
            request: request, parameters: parameters, caller: caller, acl: acl, transaction: transaction, now: now,
            services: services, mount: mount)
        var operation = request.operation
        let actor = AuditRecorder.actor(for: caller?.value, token: request.clientToken, hasher: services.keys.auditHasher)
        do {
            guard let handler = route.handlers[operation] ?? (operation == .create ? route.handlers[.update] : nil)
            else { throw LeaseholdError.unsupportedOperation }
            if route.authentication == .token {
                guard let caller else { throw LeaseholdError.permissionDenied }
                if operation == .update, let exists = route.exists, try await !exists(context) { operation = .create }
                try Self.authorize(
                    request, operation: operation, acl: acl, needsSudo: route.sudoOperations.contains(request.operation))
                if caller.value.kind == "service" {
                    try await services.tokens.consumeUse(of: caller, now: now, in: transaction)
                }
            }
            let response: LogicalResponse
            do {
                var answer = try await handler(context)
                if let wrapTTL = request.wrapTTL, answer.shape != .raw, !answer.isEmpty {
                    answer = try WrappingBackend.wrap(answer, ttl: wrapTTL, context: context)
                }
                // As Vault does, a write says which of its fields nothing read (a mistyped restriction included).
                if operation == .create || operation == .update, answer.shape != .raw, case let ignored = request.data.ignoredFields,
                    !ignored.isEmpty
                {
                    answer.warnings.append("Endpoint ignored these unrecognized parameters: [\(ignored.joined(separator: " "))]")
                }
                let event = AuditRecorder.event(
                    for: request, operation: operation, actor: actor, environment: caller?.value.environment ?? "default",
                    outcome: "allowed", error: nil, time: now)
                try await commit(transaction.batch(appending: event))
                await transaction.committed()
                response = answer
            } catch {
                // Nothing the handler prepared was committed or returned (a failed wrap, a failed commit, an error
                // after it created something outside the store): undo what it registered for that case.
                await transaction.abandon()
                throw error
            }
            if transaction.wakesReaper { reaperSignal.wake() }
            return response
        } catch let error as LeaseholdError where error.code != .conflict {
            let outcome = error.code == .permissionDenied ? "denied" : "error"
            let event = AuditRecorder.event(
                for: request, operation: operation, actor: actor, environment: caller?.value.environment ?? "default",
                outcome: outcome, error: error, time: now)
            try await commit(StoreBatch(auditEvents: [transaction.annotated(event)]))
            throw error
        }
    }

    /// Commits a batch; a store failure becomes an audit failure, so the request is refused.
    func commit(_ batch: StoreBatch) async throws {
        let started = ContinuousClock.now
        defer { metrics.recordCommit(since: started) }
        do {
            try await store.commit(batch)
            if !batch.auditEvents.isEmpty { auditSignal.rowsCommitted() }
        } catch let error as LeaseholdError where error.code == .conflict {
            throw error
        } catch {
            logger.error("store commit failed; request refused", metadata: ["error.type": "\(type(of: error))"])
            throw LeaseholdError(.auditFailure, "internal error: the request could not be recorded", underlying: nil)
        }
    }
}

/// Status codes for error classes, shared by metrics and the HTTP layer.
public enum HTTPStatus {
    /// The HTTP status code of an error.
    public static func code(for error: LeaseholdError) -> Int {
        switch error.code {
        case .invalidRequest: 400
        case .permissionDenied: 403
        case .notFound, .unsupportedPath: 404
        case .unsupportedOperation: 405
        case .conflict: 409
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .rateLimited: 429
        case .notInitialized: 400
        case .sealed: 503
        default: 500
        }
    }
}
