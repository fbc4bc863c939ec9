/// The first place where a sequence of audit records stops being a valid hash chain.
public struct AuditChainBreak: Sendable, Hashable, CustomStringConvertible {
    /// How the chain was broken.
    public enum Kind: String, Sendable, Hashable {
        /// A record's content or hash does not match (it, or the record before it, was modified).
        case altered
        /// One or more records are missing: the sequence jumps over `sequence`.
        case deleted
        /// Records appear out of order: `sequence` is duplicated, moved back, or appears later than its place.
        case reordered
        /// The newest records are missing: the chain ends before a signed checkpoint (or the retention anchor) says
        /// it reached.
        case truncated
        /// The records are a consistent chain, but not the one a signed checkpoint covered (the chain was rewritten
        /// and re-hashed), or a checkpoint's signature is not the broker's.
        case rewritten
    }

    /// The sequence number where the break was detected.
    public var sequence: Int64
    /// How the chain was broken.
    public var kind: Kind

    /// Creates a break description.
    public init(sequence: Int64, kind: Kind) {
        self.sequence = sequence
        self.kind = kind
    }

    /// For example `audit chain broken at sequence 42 (deleted)`.
    public var description: String { "audit chain broken at sequence \(sequence) (\(kind.rawValue))" }
}
