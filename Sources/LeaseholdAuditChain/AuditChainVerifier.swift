import Foundation
import LeaseholdCore

/// Verifies an audit chain page by page: links and hashes (``AuditChain/verify(_:startingAfter:previousSequence:)``),
/// the signature and coverage of every checkpoint record, and at the end that the chain reaches the newest
/// checkpoint known from elsewhere (truncation) with the hash it signed (rewriting).
///
/// Memory stays bounded: only the hashes of the most recent `window` records are kept to check checkpoints in the
/// chain, which the broker writes right after the head they cover; a checkpoint whose covered record is not among
/// them (and not before the start) counts as a rewrite. The known checkpoint's record is remembered whatever the
/// window.
public struct AuditChainVerifier: Sendable {
    /// The end of the verified part of the chain.
    public private(set) var head: AuditChainHead
    /// Records verified so far.
    public private(set) var recordCount = 0
    /// Checkpoint records whose signature and coverage were verified.
    public private(set) var checkpointCount = 0
    /// The first break found, after which nothing more is checked.
    public private(set) var failure: AuditChainBreak?
    /// The newest checkpoint seen in the chain.
    public private(set) var newestCheckpoint: AuditCheckpoint?

    private let trustedKey: String?
    private let window: Int
    private let start: Int64
    private let known: AuditCheckpoint?
    private var knownCoveredHash: String?
    private var recentHashes: [Int64: String] = [:]

    /// Starts after `head` (genesis, or the retention anchor). Checkpoints must be signed by `trustedKey` (hex raw
    /// Ed25519 public key); `nil` accepts the key of the first checkpoint seen (offline checks without a key).
    /// `known` is the newest checkpoint kept outside the chain (the encrypted store, an auditor's copy), which
    /// ``finish()`` checks the chain against.
    public init(
        startingAfter head: AuditChainHead = .genesis, trustedKey: String?, reaching known: AuditCheckpoint? = nil,
        window: Int = 100_000
    ) {
        self.head = head
        self.start = head.sequence
        self.trustedKey = trustedKey
        self.known = known
        self.window = window
    }

    /// Verifies the next page of records (in sequence order); returns the first break, if any.
    @discardableResult
    public mutating func consume(_ page: [AuditRecord]) -> AuditChainBreak? {
        guard failure == nil, !page.isEmpty else { return failure }
        if let broken = AuditChain.verify(page, startingAfter: head.hash, previousSequence: head.sequence) {
            failure = broken
            return broken
        }
        for record in page {
            recentHashes[record.sequence] = record.hash.hexString
            if record.sequence == known?.sequence { knownCoveredHash = record.hash.hexString }
            recentHashes[record.sequence - Int64(window)] = nil
            if record.event.type == AuditCheckpoint.eventType, let broken = check(record) {
                failure = broken
                return broken
            }
            head = AuditChainHead(sequence: record.sequence, hash: record.hash)
            recordCount += 1
        }
        return nil
    }

    private mutating func check(_ record: AuditRecord) -> AuditChainBreak? {
        guard let checkpoint = AuditCheckpoint(details: record.event.details),
            checkpoint.isSigned(by: trustedKey ?? newestCheckpoint?.publicKey ?? checkpoint.publicKey)
        else { return AuditChainBreak(sequence: record.sequence, kind: .rewritten) }
        if checkpoint.sequence > start, recentHashes[checkpoint.sequence] != checkpoint.hash {
            return AuditChainBreak(sequence: checkpoint.sequence, kind: .rewritten)
        }
        newestCheckpoint = checkpoint
        checkpointCount += 1
        return nil
    }

    /// Ends verification: the chain must reach the known checkpoint (see ``init(startingAfter:trustedKey:reaching:window:)``),
    /// signed by the trusted key, and hold at its sequence the record it signed (unless retention removed it).
    @discardableResult
    public mutating func finish() -> AuditChainBreak? {
        guard failure == nil, let known else { return failure }
        if let trustedKey, !known.isSigned(by: trustedKey) {
            failure = AuditChainBreak(sequence: known.sequence, kind: .rewritten)
        } else if known.sequence > head.sequence {
            failure = AuditChainBreak(sequence: head.sequence + 1, kind: .truncated)
        } else if known.sequence > start, knownCoveredHash != known.hash {
            failure = AuditChainBreak(sequence: known.sequence, kind: .rewritten)
        }
        return failure
    }
}
