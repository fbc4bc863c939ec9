import Crypto
import Foundation
import LeaseholdCore

/// A signed statement "the audit chain reached `sequence` with hash `hash` at `time`", made with the broker's
/// Ed25519 checkpoint key (sealed in the store like every secret).
///
/// Checkpoints are written into the chain itself (event type `audit.checkpoint`) and the newest one is also kept
/// in the encrypted store. Whoever can write the store but not unseal the broker can recompute hashes but cannot
/// sign: rewriting the chain breaks the covered hash, and deleting the newest rows leaves the chain shorter than
/// the newest checkpoint.
public struct AuditCheckpoint: Codable, Sendable, Hashable {
    /// The event type of checkpoint records.
    public static let eventType = "audit.checkpoint"

    /// The covered record's sequence.
    public var sequence: Int64
    /// The covered record's hash, hex.
    public var hash: String
    /// When the checkpoint was made (canonical audit time text).
    public var time: String
    /// The signer's raw Ed25519 public key, hex.
    public var publicKey: String
    /// The Ed25519 signature over ``message``, hex.
    public var signature: String

    /// The signed bytes.
    public var message: Data {
        Data("leasehold-audit-checkpoint-v1\n\(sequence)\n\(hash)\n\(time)".utf8)
    }

    /// Signs the head `sequence`/`hash` at `time` with `key`.
    public static func sign(sequence: Int64, hash: Data, time: Date, key: Curve25519.Signing.PrivateKey) throws -> AuditCheckpoint {
        var checkpoint = AuditCheckpoint(
            sequence: sequence, hash: hash.hexString, time: AuditEvent.timestamp(time),
            publicKey: key.publicKey.rawRepresentation.hexString, signature: "")
        checkpoint.signature = try key.signature(for: checkpoint.message).hexString
        return checkpoint
    }

    /// Whether the signature is valid and was made by `trustedKey` (hex raw public key).
    public func isSigned(by trustedKey: String) -> Bool {
        guard publicKey == trustedKey, let raw = Data(hexString: trustedKey), let signatureBytes = Data(hexString: signature),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { return false }
        return key.isValidSignature(signatureBytes, for: message)
    }

    /// The details of the checkpoint's audit record.
    public var details: [String: String] {
        [
            "checkpoint_sequence": String(sequence), "checkpoint_hash": hash, "checkpoint_time": time,
            "public_key": publicKey, "signature": signature,
        ]
    }

    /// Reads a checkpoint back from its record's details.
    public init?(details: [String: String]) {
        guard let sequenceText = details["checkpoint_sequence"], let sequence = Int64(sequenceText),
            let hash = details["checkpoint_hash"], let time = details["checkpoint_time"],
            let publicKey = details["public_key"], let signature = details["signature"]
        else { return nil }
        self.init(sequence: sequence, hash: hash, time: time, publicKey: publicKey, signature: signature)
    }

    /// Creates a checkpoint from its fields.
    public init(sequence: Int64, hash: String, time: String, publicKey: String, signature: String) {
        self.sequence = sequence
        self.hash = hash
        self.time = time
        self.publicKey = publicKey
        self.signature = signature
    }
}
