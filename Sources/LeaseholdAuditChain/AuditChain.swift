import Crypto
import Foundation
import LeaseholdCore

/// The audit hash chain: each record's hash covers the previous record's hash, its sequence number and its event.
///
/// `hash = SHA-256(previousHash || sequence as 8 bytes big-endian || event.canonicalBytes())`, starting from
/// ``genesisHash`` before sequence 1. Altering, deleting or reordering any stored record breaks the chain at that
/// point.
public enum AuditChain {
    /// The `previousHash` of the first record: 32 zero bytes.
    public static let genesisHash = Data(repeating: 0, count: 32)

    /// Computes the hash of the record at `sequence` holding `event`, chained after `previous`.
    ///
    /// Throws when the event cannot be encoded canonically.
    public static func hash(previous: Data, sequence: Int64, event: AuditEvent) throws -> Data {
        var hasher = SHA256()
        hasher.update(data: previous)
        withUnsafeBytes(of: sequence.bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: try event.canonicalBytes())
        return Data(hasher.finalize())
    }

    /// Places `events` in the chain after `head`, in order, and returns the records to store.
    public static func link(_ events: [AuditEvent], after head: AuditChainHead) throws -> [AuditRecord] {
        var head = head
        return try events.map { event in
            let sequence = head.sequence + 1
            let record = AuditRecord(
                sequence: sequence,
                event: event,
                previousHash: head.hash,
                hash: try hash(previous: head.hash, sequence: sequence, event: event)
            )
            head = AuditChainHead(sequence: sequence, hash: record.hash)
            return record
        }
    }

    /// The nearby position (within ``reorderWindow``) at which an intact record would hash correctly, when it was
    /// moved rather than modified.
    static func movedFrom(_ record: AuditRecord) -> Int64? {
        for distance in 1...reorderWindow {
            for candidate in [record.sequence - distance, record.sequence + distance] where candidate >= 1 {
                if (try? hash(previous: record.previousHash, sequence: candidate, event: record.event)) == record.hash {
                    return candidate
                }
            }
        }
        return nil
    }

    /// How far a moved record is searched for (only at a break, so at most twice this many hashes).
    static let reorderWindow: Int64 = 256

    /// Checks that `records` continue the chain after the record `previousSequence` whose hash is `previousHash`.
    ///
    /// Pass ``genesisHash`` and `0` to verify from the start. Returns the first break, or `nil` when every record is
    /// intact, in place and without gaps. Complexity: O(n) hashes for n records.
    public static func verify(
        _ records: [AuditRecord],
        startingAfter previousHash: Data,
        previousSequence: Int64
    ) -> AuditChainBreak? {
        let presentSequences = Set(records.map(\.sequence))
        var expectedPrevious = AuditChainHead(sequence: previousSequence, hash: previousHash)
        for record in records {
            let expectedSequence = expectedPrevious.sequence + 1
            if record.sequence < expectedSequence {
                return AuditChainBreak(sequence: record.sequence, kind: .reordered)
            }
            if record.sequence > expectedSequence {
                let kind: AuditChainBreak.Kind = presentSequences.contains(expectedSequence) ? .reordered : .deleted
                return AuditChainBreak(sequence: expectedSequence, kind: kind)
            }
            let recomputed = try? hash(previous: record.previousHash, sequence: record.sequence, event: record.event)
            if recomputed != record.hash {
                return AuditChainBreak(sequence: record.sequence, kind: movedFrom(record) == nil ? .altered : .reordered)
            }
            if record.previousHash != expectedPrevious.hash {
                // The record itself is intact, so its predecessor was rewritten (with a recomputed hash) or replaced.
                return AuditChainBreak(sequence: expectedPrevious.sequence, kind: .altered)
            }
            expectedPrevious = AuditChainHead(sequence: record.sequence, hash: record.hash)
        }
        return nil
    }
}
