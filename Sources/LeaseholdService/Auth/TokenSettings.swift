import Foundation
import LeaseholdCore

/// The `token_*` fields every auth role carries (Vault's tokenutil), plus the environment of its identities.
public struct TokenSettings: Sendable, Codable, Hashable {
    /// Policies attached to issued tokens.
    public var policies: [String] = []
    /// TTL of issued tokens (0: the system default).
    public var ttl: Int64 = 0
    /// Cap on issued tokens' life, renewals included (`token_max_ttl`; 0: the system maximum).
    public var maxTTL: Int64 = 0
    /// A second hard cap (`token_explicit_max_ttl`; 0 or `nil`, as in settings stored before it existed: none); the
    /// smaller of the two applies.
    public var explicitMaxTTL: Int64?
    /// Period for periodic tokens (0: none).
    public var period: Int64 = 0
    /// Use limit (0: unlimited).
    public var numUses: Int = 0
    /// Whether to leave out the `default` policy.
    public var noDefaultPolicy: Bool = false
    /// CIDR blocks tokens may be used from (empty: anywhere).
    public var boundCIDRs: [String] = []
    /// The environment of identities that log in through this role.
    public var environment: String = "default"

    /// Refuses a `token_type` field that asks for anything but service tokens (batch tokens are not issued), for
    /// auth roles, token roles and auth mounts alike.
    static func requireServiceTokenType(_ data: RequestData) throws {
        if let type = try data.string("token_type"), !["", "default", "service", "default-service"].contains(type) {
            throw LeaseholdError.invalidRequest("token_type \"\(type.prefix(64))\" is not supported: only service tokens are issued")
        }
    }

    /// Reads the fields present in `data` over `existing` values. Vault's deprecated names (`policies`, `ttl`,
    /// `lease`, `max_ttl`, `period`, `num_uses`, `bound_cidrs`) are read too; as in Vault, the current name wins
    /// when both are given.
    public init(parsing data: RequestData, over existing: TokenSettings? = nil) throws {
        self = existing ?? TokenSettings()
        if let value = try data.upgraded("token_policies", aliases: "policies", read: data.stringList) {
            policies = value.map { $0.lowercased() }
        }
        if let value = try data.upgraded("token_ttl", aliases: "ttl", "lease", read: data.ttl) { ttl = value.seconds }
        if let value = try data.upgraded("token_max_ttl", aliases: "max_ttl", read: data.ttl) { maxTTL = value.seconds }
        if let value = try data.ttl("token_explicit_max_ttl") { explicitMaxTTL = value.seconds }
        if let value = try data.upgraded("token_period", aliases: "period", read: data.ttl) { period = value.seconds }
        if let value = try data.upgraded("token_num_uses", aliases: "num_uses", read: data.int) {
            guard value >= 0 else { throw LeaseholdError.invalidRequest("token_num_uses cannot be negative") }
            numUses = value
        }
        if let value = try data.bool("token_no_default_policy") { noDefaultPolicy = value }
        if let value = try data.upgraded("token_bound_cidrs", aliases: "bound_cidrs", read: data.stringList) {
            try CIDRBlock.validate(value)
            boundCIDRs = value
        }
        try Self.requireServiceTokenType(data)
        if let value = try data.string("environment"), !value.isEmpty { environment = try DatabaseBackend.environmentName(value) }
        if policies.contains("root") { throw LeaseholdError.invalidRequest("the root policy cannot be attached by an auth role") }
        guard hardCap == 0 || ttl <= hardCap else {
            throw LeaseholdError.invalidRequest("token_ttl cannot exceed token_max_ttl or token_explicit_max_ttl")
        }
    }

    /// The cap issued tokens get: the smaller non-zero of `maxTTL` and `explicitMaxTTL` (0: none).
    var hardCap: Int64 {
        [maxTTL, explicitMaxTTL ?? 0].filter { $0 > 0 }.min() ?? 0
    }

    init() {}

    /// The fields for role reads (TTLs in seconds).
    public var json: [String: JSONValue] {
        [
            "token_policies": .strings(policies), "policies": .strings(policies), "token_ttl": .int(Int(ttl)),
            "token_max_ttl": .int(Int(maxTTL)), "token_explicit_max_ttl": .int(Int(explicitMaxTTL ?? 0)), "token_period": .int(Int(period)), "token_num_uses": .int(numUses),
            "token_no_default_policy": .bool(noDefaultPolicy), "token_bound_cidrs": .strings(boundCIDRs),
            "token_type": "default", "environment": .string(environment),
        ]
    }

    /// The token a successful login issues.
    func makeTokenRequest(displayName: String, metadata: [String: String], authMethod: String, path: String) -> TokenRequest {
        var request = TokenRequest(policies: policies)
        request.displayName = displayName
        request.meta = metadata
        request.ttl = TTL(seconds: ttl)
        request.explicitMaxTTL = TTL(seconds: hardCap)
        request.period = TTL(seconds: period)
        request.numUses = numUses
        request.noDefaultPolicy = noDefaultPolicy
        request.authMethod = authMethod
        request.path = path
        request.environment = environment
        request.boundCIDRs = boundCIDRs
        request.parentHash = nil
        return request
    }
}

/// An IPv4 or IPv6 CIDR block (`10.0.0.0/8`, `::1/128`), for source-address restrictions.
public struct CIDRBlock: Sendable, Hashable {
    let network: [UInt8]
    let prefixLength: Int

    private init(network: [UInt8], prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }

    /// Parses `address/length` (a bare address means a single host).
    public init(_ text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let address = Self.bytes(of: parts[0]) else { throw LeaseholdError.invalidRequest("invalid CIDR block \"\(text.prefix(64))\"") }
        let length = parts.count == 2 ? Int(parts[1]) : address.count * 8
        guard let length, (0...(address.count * 8)).contains(length) else {
            throw LeaseholdError.invalidRequest("invalid CIDR block \"\(text.prefix(64))\"")
        }
        // An IPv4-mapped IPv6 block (`::ffff:10.0.0.0/104`) is the IPv4 block it maps: clients are compared as IPv4.
        if Self.isIPv4Mapped(address), length >= 96 {
            network = Array(address[12...])
            prefixLength = length - 96
        } else {
            network = address
            prefixLength = length
        }
    }

    private static func isIPv4Mapped(_ address: [UInt8]) -> Bool {
        address.count == 16 && address[..<10].allSatisfy { $0 == 0 } && address[10] == 0xff && address[11] == 0xff
    }

    /// Whether `blocks` is empty (no restriction) or `address` lies in one of them. A block that does not parse
    /// matches nothing (they are checked when written).
    public static func allows(_ blocks: [String], _ address: String) -> Bool {
        blocks.isEmpty || blocks.contains { (try? CIDRBlock($0))?.contains(address) == true }
    }

    /// Throws when any of `blocks` is not a CIDR block (for validating writes).
    public static func validate(_ blocks: [String]) throws {
        for block in blocks { _ = try CIDRBlock(block) }
    }

    /// Whether every address of every block in `blocks` lies in `outer` (an empty `outer` allows everything). Used
    /// where a narrower list must stay inside a wider one, as a secret id's inside its role's.
    public static func areWithin(_ blocks: [String], _ outer: [String]) -> Bool {
        guard !outer.isEmpty else { return true }
        let wide = outer.compactMap { try? CIDRBlock($0) }
        return blocks.allSatisfy { text in
            guard let block = try? CIDRBlock(text) else { return false }
            return wide.contains { $0.encloses(block) }
        }
    }

    /// Whether `other` is this block or a smaller one inside it.
    func encloses(_ other: CIDRBlock) -> Bool {
        guard other.network.count == network.count, other.prefixLength >= prefixLength else { return false }
        for bit in 0..<prefixLength {
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if other.network[bit / 8] & mask != network[bit / 8] & mask { return false }
        }
        return true
    }

    /// Whether `address` (an IP, optionally with `:port`) lies in the block.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.bytes(of: Self.host(of: address)) else { return false }
        if Self.isIPv4Mapped(bytes) { bytes = Array(bytes[12...]) }
        return encloses(CIDRBlock(network: bytes, prefixLength: bytes.count * 8))
    }

    /// The host part of `ip:port`, `[ipv6]:port` or a bare address.
    static func host(of address: String) -> String {
        if address.hasPrefix("["), let end = address.firstIndex(of: "]") { return String(address[address.index(after: address.startIndex)..<end]) }
        if address.filter({ $0 == ":" }).count == 1, let colon = address.firstIndex(of: ":") { return String(address[..<colon]) }
        return address
    }

    static func bytes(of address: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }
}
