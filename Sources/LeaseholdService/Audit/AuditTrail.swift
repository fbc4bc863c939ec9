import Crypto
import Foundation
import LeaseholdAuditChain
import LeaseholdCore
import LeaseholdSeal

/// What `sys/audit-log/verify` and `leasehold audit verify` report.
public struct AuditVerificationReport: Sendable, Codable {
    /// Whether the whole stored chain verified.
    public var intact: Bool
    /// Records verified.
    public var records: Int
    /// The first and last sequence present (0 when empty).
    public var firstSequence: Int64
    public var lastSequence: Int64
    /// Checkpoint records verified (signature and coverage).
    public var checkpoints: Int
    /// The newest checkpoint the store knows of, which the chain must reach.
    public var newestCheckpointSequence: Int64?
    /// The retention anchor the chain starts after (0 when nothing was deleted).
    public var anchorSequence: Int64
    /// Where and how the chain is broken, when it is.
    public var breakSequence: Int64?
    public var breakKind: String?
    /// The checkpoint public key (hex), for offline verification of exports.
    public var publicKey: String

    enum CodingKeys: String, CodingKey {
        case intact, records, checkpoints
        case firstSequence = "first_sequence"
        case lastSequence = "last_sequence"
        case newestCheckpointSequence = "newest_checkpoint_sequence"
        case anchorSequence = "anchor_sequence"
        case breakSequence = "break_sequence"
        case breakKind = "break_kind"
        case publicKey = "public_key"
    }
}

/// The audit trail's integrity operations over one unsealed store: the sealed Ed25519 checkpoint key, signed
/// checkpoints, whole-chain verification and retention.
struct AuditTrail {
    let services: BrokerServices

    static let signingKeyKey = StoreKey(.auditTrail, "signing-key")
    static let newestCheckpointKey = StoreKey(.auditTrail, "newest-checkpoint")
    static let anchorKey = StoreKey(.auditTrail, "retention-anchor")

    /// Where the chain starts after retention deleted its beginning.
    struct Anchor: Codable {
        var sequence: Int64
        var hash: String
    }

    /// The checkpoint key if one was created; throws when the stored key is malformed (never replaced silently).
    func existingSigningKey() async throws -> Curve25519.Signing.PrivateKey? {
        guard let stored = try await services.store.read(SecretValue.self, at: Self.signingKeyKey) else { return nil }
        guard let raw = Data(hexString: stored.value.revealed), let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw LeaseholdError(.internalError, "the audit checkpoint key in the store is malformed")
        }
        return key
    }

    /// The public checkpoint key, hex (empty before the first checkpoint).
    func publicKey() async throws -> String {
        try await existingSigningKey().map(Self.publicKeyText) ?? ""
    }

    /// A signing key's public half as hex, the form checkpoints carry.
    static func publicKeyText(_ key: Curve25519.Signing.PrivateKey) -> String {
        key.publicKey.rawRepresentation.hexString
    }

    /// Signs the current head and appends the checkpoint to the chain (and keeps it as the newest known one).
    /// Returns `nil` when the table is empty or the newest record is already a checkpoint.
    ///
    /// A chain changed in the store is never signed over: the record the previous checkpoint covers must still
    /// have the hash it signed, and every record since must link to it (``confirmChain(since:through:)``); the
    /// newest checkpoint only moves forward (a write conditional on the version read). The signing key is created
    /// with the first checkpoint, in the same commit, so a key in the store means a checkpoint must be there too.
    @discardableResult
    func checkpoint(now: Date, actor: AuditActor, requestID: String) async throws -> AuditCheckpoint? {
        guard let newest = try await services.store.base.newestAuditRecord(), newest.event.type != AuditCheckpoint.eventType else { return nil }
        let previous = try await services.store.read(AuditCheckpoint.self, at: Self.newestCheckpointKey)
        let existing = try await existingSigningKey()
        if let previous {
            try await confirmChain(since: previous.value, through: newest.sequence, trustedKey: existing.map(Self.publicKeyText))
        }
        var operations: [StoreOperation] = []
        let key: Curve25519.Signing.PrivateKey
        if let existing {
            key = existing
        } else {
            key = Curve25519.Signing.PrivateKey()
            let sealedKey = try services.store.seal(SecretValue(key.rawRepresentation.hexString), for: Self.signingKeyKey)
            operations.append(.put(Self.signingKeyKey, sealedKey, .absent))
        }
        let checkpoint = try AuditCheckpoint.sign(sequence: newest.sequence, hash: newest.hash, time: now, key: key)
        let event = AuditEvent(
            time: now, requestID: requestID, type: AuditCheckpoint.eventType, operation: "update", path: "sys/audit-log/checkpoint",
            actor: actor, remoteAddress: "", outcome: "allowed", details: checkpoint.details)
        let sealed = try services.store.seal(checkpoint, for: Self.newestCheckpointKey)
        operations.append(.put(Self.newestCheckpointKey, sealed, previous.map { .version($0.version) } ?? .absent))
        try await services.commit(StoreBatch(operations: operations, auditEvents: [event]))
        return checkpoint
    }

    /// Throws unless the stored chain still holds, at `previous.sequence`, the record `previous` signed, and the
    /// records after it up to `through` link to it (one pass over the records since the previous checkpoint).
    /// A checkpoint older than the retention anchor is not checked: the anchor, moved under the same check, took
    /// its place.
    func confirmChain(since previous: AuditCheckpoint, through sequence: Int64, trustedKey: String?) async throws {
        let anchor = try await anchorHead()
        guard previous.sequence > anchor.sequence else { return }
        guard let covered = try await services.store.base.auditRecords(after: previous.sequence - 1, limit: 1).first,
            covered.sequence == previous.sequence, covered.hash.hexString == previous.hash
        else { throw Self.chainChanged(at: previous.sequence) }
        try await confirmLinks(
            after: AuditChainHead(sequence: covered.sequence, hash: covered.hash), through: sequence, trustedKey: trustedKey)
    }

    /// Throws unless the records after `head` up to `sequence` form an unbroken chain from it, with every checkpoint
    /// among them signed by `trustedKey`.
    private func confirmLinks(after head: AuditChainHead, through sequence: Int64, trustedKey: String?) async throws {
        var verifier = AuditChainVerifier(startingAfter: head, trustedKey: trustedKey)
        var cursor = head.sequence
        while cursor < sequence {
            let page = try await services.store.base.auditRecords(after: cursor, limit: 1000).filter { $0.sequence <= sequence }
            guard let last = page.last else { break }
            if let broken = verifier.consume(page) { throw Self.chainChanged(at: broken.sequence) }
            cursor = last.sequence
        }
        guard verifier.head.sequence >= sequence else { throw Self.chainChanged(at: verifier.head.sequence + 1) }
    }

    /// The refusal to sign over, or retain past, a chain that no longer verifies.
    private static func chainChanged(at sequence: Int64) -> LeaseholdError {
        LeaseholdError(.internalError, "the audit chain in the store no longer verifies at sequence \(sequence); run sys/audit-log/verify")
    }

    /// Walks the whole stored chain from the retention anchor, checking links, hashes, checkpoints, and that the
    /// chain reaches the newest checkpoint kept in the encrypted store (read first, so one committed during the
    /// walk is not mistaken for truncation). Read-only. Once a checkpoint key exists, the newest checkpoint must
    /// exist too: they are created in one commit.
    func verify() async throws -> AuditVerificationReport {
        let signingKey = try await existingSigningKey()
        let publicKey = signingKey.map(Self.publicKeyText) ?? ""
        let newest = try await services.store.read(AuditCheckpoint.self, at: Self.newestCheckpointKey)?.value
        let start = try await anchorHead()
        var verifier = AuditChainVerifier(startingAfter: start, trustedKey: publicKey, reaching: newest)
        var firstSequence: Int64 = 0
        // Rows at or before the anchor (left by a retention run interrupted before its delete) are not part of
        // the chain any more.
        var cursor = start.sequence
        while verifier.failure == nil {
            let page = try await services.store.base.auditRecords(after: cursor, limit: 1000)
            guard let last = page.last else { break }
            if firstSequence == 0 { firstSequence = page[0].sequence }
            verifier.consume(page)
            cursor = last.sequence
        }
        verifier.finish()
        var breakSequence = verifier.failure?.sequence
        var breakKind = verifier.failure?.kind
        if breakKind == nil, signingKey != nil, newest == nil {
            // The newest checkpoint was deleted (with the checkpoint records, to hide a rewritten chain).
            breakSequence = start.sequence + 1
            breakKind = .truncated
        }
        return AuditVerificationReport(
            intact: breakKind == nil, records: verifier.recordCount, firstSequence: firstSequence,
            lastSequence: verifier.head.sequence, checkpoints: verifier.checkpointCount,
            newestCheckpointSequence: newest?.sequence, anchorSequence: start.sequence,
            breakSequence: breakSequence, breakKind: breakKind?.rawValue, publicKey: publicKey)
    }

    /// The smallest sequence every enabled audit device has acknowledged (`nil` without devices).
    func slowestDeliveredSequence() async throws -> Int64? {
        var slowest: Int64?
        for device in try await AuditDeviceTable(store: services.store).devices() {
            let delivered = try await services.store.read(AuditCursor.self, at: device.cursorKey)?.value.sequence ?? 0
            slowest = min(slowest ?? delivered, delivered)
        }
        return slowest
    }

    /// The head the chain starts after: the retention anchor, or genesis.
    func anchorHead() async throws -> AuditChainHead {
        guard let anchor = try await services.store.read(Anchor.self, at: Self.anchorKey)?.value,
            let hash = Data(hexString: anchor.hash)
        else { return .genesis }
        return AuditChainHead(sequence: anchor.sequence, hash: hash)
    }

    /// Exports every record older than `cutoff` (JSON lines, fsynced, page by page) into `directory`, then moves
    /// the anchor and deletes them, so the rest of the chain still verifies. Returns the archive path, or `nil`
    /// when nothing was old enough. The newest record is never deleted, nor one an audit device has not delivered.
    /// A run interrupted between the anchor and the delete is completed by the next one.
    func applyRetention(cutoff: Date, directory: String, now: Date) async throws -> String? {
        let stored = try await services.store.read(Anchor.self, at: Self.anchorKey)
        let anchor = try await anchorHead()
        try await deleteRecords(through: anchor.sequence)
        guard let newest = try await services.store.base.newestAuditRecord() else { return nil }
        var query = AuditQuery()
        query.until = cutoff
        query.before = min(newest.sequence, (try await slowestDeliveredSequence()).map { $0 + 1 } ?? newest.sequence)
        var archive: AuditArchive?
        var last: AuditRecord?
        let finished: (path: String, last: AuditRecord)
        do {
            paging: while true {
                query.after = last?.sequence
                let page = try await services.store.base.auditRecords(matching: query, limit: 1000)
                var lines: [String] = []
                for record in page {
                    // Only a prefix of the chain: stop at the first gap (a record too young to delete).
                    guard record.sequence == (last?.sequence ?? anchor.sequence) + 1 else { break }
                    lines.append(try AuditRecordDocument(record).jsonLine())
                    last = record
                }
                if !lines.isEmpty {
                    if archive == nil { archive = try AuditArchive(directory: directory, now: now) }
                    try archive?.append(lines)
                }
                if lines.count < 1000 { break paging }
            }
            guard let last, let archive else { return nil }
            // Only a chain that verifies from the anchor is archived and cut: the new anchor is trusted from here on.
            try await confirmLinks(
                after: anchor, through: last.sequence, trustedKey: try await existingSigningKey().map(Self.publicKeyText))
            finished = (try archive.finish(through: last.sequence), last)
        } catch {
            // Nothing was deleted from the store: the next run archives the same records again.
            archive?.discard()
            throw error
        }
        let (path, newestDeleted) = finished
        let moved = Anchor(sequence: newestDeleted.sequence, hash: newestDeleted.hash.hexString)
        let event = AuditEvent(
            time: now, requestID: "", type: "audit.retention", operation: "delete", path: "sys/audit-log",
            actor: AuditActor(authMethod: "retention"), remoteAddress: "", outcome: "allowed",
            details: ["deleted_through": String(newestDeleted.sequence), "anchor_hash": moved.hash, "archive": path])
        // Conditional on the anchor read: of two runs (an old leader resuming after a pause), the later one
        // conflicts instead of moving the anchor back.
        let condition: StoreCondition = stored.map { .version($0.version) } ?? .absent
        try await services.commit(
            StoreBatch(operations: [.put(Self.anchorKey, try services.store.seal(moved, for: Self.anchorKey), condition)], auditEvents: [event]))
        try await deleteRecords(through: newestDeleted.sequence)
        return path
    }

    /// Deletes the records through `sequence`, 10,000 per statement, so no delete holds the store (the single
    /// SQLite writer, or a PostgreSQL statement timeout) for long; a later run finishes what an interrupted one
    /// left.
    private func deleteRecords(through sequence: Int64) async throws {
        while let first = try await services.store.base.auditRecords(after: 0, limit: 1).first, first.sequence <= sequence {
            try await services.store.base.deleteAuditRecords(through: min(sequence, first.sequence + 9_999))
        }
    }
}

/// An archive file of records removed by retention, written page by page to a `.partial` file (mode 0600) and,
/// once complete and fsynced, renamed to `audit-through-<last sequence>-<unix time>.jsonl`.
final class AuditArchive {
    private let directory: String
    private let stamp: Int64
    private let partialPath: String
    private let descriptor: Int32

    init(directory: String, now: Date) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        self.directory = directory
        stamp = Int64(now.timeIntervalSince1970)
        partialPath = (directory as NSString).appendingPathComponent("audit-\(stamp)-\(SecureRandom.uuid()).jsonl.partial")
        descriptor = open(partialPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw LeaseholdError(.internalError, "cannot create the audit archive file") }
    }

    deinit { close(descriptor) }

    func append(_ lines: [String]) throws {
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw LeaseholdError(.internalError, "cannot write the audit archive file") }
    }

    /// Makes the archive durable under its final name and returns that path; on failure the caller discards it.
    func finish(through last: Int64) throws -> String {
        let path = (directory as NSString).appendingPathComponent("audit-through-\(last)-\(stamp).jsonl")
        guard fsync(descriptor) == 0, rename(partialPath, path) == 0 else {
            throw LeaseholdError(.internalError, "cannot write the audit archive file")
        }
        let directoryDescriptor = open(directory, O_RDONLY)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        return path
    }

    /// Removes an archive that will not be completed.
    func discard() {
        unlink(partialPath)
    }
}

extension Broker {
    /// Archives and deletes the audit records older than `cutoff` now (what the maintenance service does
    /// periodically); returns the archive's path, or `nil` when nothing was old enough.
    public func applyAuditRetention(cutoff: Date, directory: String) async throws -> String? {
        let trail = AuditTrail(services: makeServices(keys: try await seal.keys()))
        return try await trail.applyRetention(cutoff: cutoff, directory: directory, now: now())
    }
}
