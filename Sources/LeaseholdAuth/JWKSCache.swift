import Foundation

/// JWKS documents fetched from identity providers, shared by every login.
///
/// A token whose `kid` is not in the cached set triggers one refresh, but a source is fetched at most once per
/// ``minimumRefreshInterval`` (concurrent logins wait for the fetch already in flight), so a flood of tokens with
/// invented key ids costs the provider one request per interval. Keys older than ``maximumAge`` are refreshed on
/// next use and are not used once stale if the refresh fails (fail closed). Memory is bounded: at most
/// ``maximumSources`` sources of at most ``JSONWebKeySet/maximumKeys`` keys, from documents of at most 256 KiB.
public actor JWKSCache {
    /// Where a key set comes from: a JWKS URL and the CA that must have issued its server certificate.
    public struct Source: Sendable, Hashable {
        /// The JWKS URL (https).
        public var url: String
        /// The trusted CA certificates (PEM); empty for the system roots.
        public var trustedCAPEM: String

        /// Creates a source.
        public init(url: String, trustedCAPEM: String) {
            self.url = url
            self.trustedCAPEM = trustedCAPEM
        }
    }

    private struct Entry {
        var keys: [VerificationKey]
        var fetchedAt: Date
    }

    /// The shortest time between two fetches of one source.
    public let minimumRefreshInterval: TimeInterval
    /// How long fetched keys are used before they must be refreshed.
    public let maximumAge: TimeInterval
    /// The most sources kept.
    public let maximumSources: Int
    private let client: OutboundHTTPClient
    private var entries: [Source: Entry] = [:]
    private var lastAttempts: [Source: Date] = [:]
    private var inFlight: [Source: Task<Result<[VerificationKey], JWTValidationError>, Never>] = [:]

    /// Creates an empty cache.
    public init(
        client: OutboundHTTPClient = OutboundHTTPClient(timeout: .seconds(10), maximumResponseBytes: 256 * 1024),
        minimumRefreshInterval: TimeInterval = 10, maximumAge: TimeInterval = 3600, maximumSources: Int = 256
    ) {
        self.client = client
        self.minimumRefreshInterval = minimumRefreshInterval
        self.maximumAge = maximumAge
        self.maximumSources = maximumSources
    }

    /// Fetches `source` now, whatever the rate limit (a configuration write checking its URL), and caches it.
    public func load(_ source: Source, now: Date) async throws(JWTValidationError) -> [VerificationKey] {
        try await refresh(source, now: now)
    }

    /// The keys of `source` that may verify `token`, refreshing once when none matches its `kid`.
    public func candidates(for token: CompactJWT, from source: Source, now: Date) async throws(JWTValidationError) -> [VerificationKey] {
        if let entry = entries[source], now.timeIntervalSince(entry.fetchedAt) < maximumAge {
            let found = entry.keys.filter { $0.isCandidate(for: token) }
            if !found.isEmpty { return found }
        }
        if let running = inFlight[source] {
            _ = await running.value
        } else if let last = lastAttempts[source], now.timeIntervalSince(last) < minimumRefreshInterval {
            // Rate limited: answer from what is cached, if it is still fresh.
        } else {
            _ = try? await refresh(source, now: now)
        }
        guard let entry = entries[source], now.timeIntervalSince(entry.fetchedAt) < maximumAge else { throw .providerUnavailable }
        let found = entry.keys.filter { $0.isCandidate(for: token) }
        guard !found.isEmpty else { throw .unknownKey }
        return found
    }

    private func refresh(_ source: Source, now: Date) async throws(JWTValidationError) -> [VerificationKey] {
        if let running = inFlight[source] { return try await running.value.get() }
        evictIfFull(adding: source)
        lastAttempts[source] = now
        let client = self.client
        let task = Task { await Self.fetch(source, client: client) }
        inFlight[source] = task
        let result = await task.value
        inFlight[source] = nil
        if case .success(let keys) = result { entries[source] = Entry(keys: keys, fetchedAt: now) }
        return try result.get()
    }

    private func evictIfFull(adding source: Source) {
        guard lastAttempts[source] == nil, lastAttempts.count >= maximumSources,
            let oldest = lastAttempts.min(by: { $0.value < $1.value })?.key
        else { return }
        lastAttempts[oldest] = nil
        entries[oldest] = nil
    }

    private static func fetch(_ source: Source, client: OutboundHTTPClient) async -> Result<[VerificationKey], JWTValidationError> {
        do {
            let response = try await client.get(source.url, trustedCAPEM: source.trustedCAPEM.isEmpty ? nil : source.trustedCAPEM)
            guard response.status == 200 else { return .failure(.providerUnavailable) }
            return .success(try JSONWebKeySet(json: response.body).keys)
        } catch let error as JWTValidationError {
            return .failure(error)
        } catch {
            return .failure(.providerUnavailable)
        }
    }
}
