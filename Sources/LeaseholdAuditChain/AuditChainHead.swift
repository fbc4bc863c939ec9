import Foundation

/// The end of the audit chain: the last sequence number and its hash.
public struct AuditChainHead: Sendable, Hashable {
    /// The last record's sequence, 0 for an empty chain.
    public var sequence: Int64
    /// The last record's hash, ``AuditChain/genesisHash`` for an empty chain.
    public var hash: Data

    /// Creates a head.
    public init(sequence: Int64, hash: Data) {
        self.sequence = sequence
        self.hash = hash
    }

    /// The head of an empty chain.
    public static let genesis = AuditChainHead(sequence: 0, hash: AuditChain.genesisHash)
}
