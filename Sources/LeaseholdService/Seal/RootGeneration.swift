import Foundation
import LeaseholdAuth
import LeaseholdCore
import LeaseholdSeal

/// What `sys/generate-root/attempt` reports.
public struct RootGenerationStatus: Sendable {
    /// Whether an attempt is in progress.
    public var started: Bool
    /// The attempt's id ("" when none): every share must name it.
    public var nonce: String
    /// Shares submitted to the attempt.
    public var progress: Int
    /// Shares needed.
    public var required: Int
    /// The length of the one-time password that encodes the new token.
    public var otpLength: Int
}

/// What one submitted share did to a root generation.
enum RootGenerationStep {
    /// The share counted; more are needed. `undo` is the attempt as it was before.
    case progress(Int, required: Int, undo: RootGenerationAttempt)
    /// The shares rebuilt the root key: the attempt ended. `undo` is the attempt as it was before the last share.
    case complete(RootGenerationAttempt, required: Int, undo: RootGenerationAttempt)
}

/// One root token generation (`bao operator generate-root`): holders of the unseal key shares prove, together,
/// that they could unseal the broker, and get a new root token encoded with a one-time password only the
/// initiator holds. Lives inside the ``SealManager``; nothing of it is stored, so a restart or a seal ends it.
struct RootGenerationAttempt {
    /// Tokens are `s.` and 32 base62 characters: the one-time password has their length.
    static let otpLength = 34

    let nonce: String
    let otp: SecretValue
    var shares: [[UInt8]] = []

    /// Starts an attempt with the caller's one-time password, or a generated one (which the caller must be told).
    init(otp: String?) throws {
        if let otp, !otp.isEmpty {
            guard otp.utf8.count == Self.otpLength else {
                throw LeaseholdError.invalidRequest("OTP string is wrong length (it must be \(Self.otpLength) characters)")
            }
            self.otp = SecretValue(otp)
        } else {
            self.otp = SecretValue(SecureRandom.string(length: Self.otpLength, alphabet: SecureRandom.base62Alphabet))
        }
        nonce = SecureRandom.uuid()
    }

    /// A token encoded for the initiator: its bytes XORed with the one-time password, base64 without padding
    /// (what `bao operator generate-root -decode` reverses). Throws when the lengths differ.
    func encode(_ token: SecretValue) throws -> String {
        guard let bytes = Self.xor(Array(token.revealed.utf8), Array(otp.revealed.utf8)) else {
            throw LeaseholdError(.internalError, "the root token and the one-time password differ in length")
        }
        return String(Data(bytes).base64EncodedString().prefix { $0 != "=" })
    }

    /// The token an encoding holds, or `nil` when it is not base64 or not as long as the password.
    static func decode(_ encoded: String, otp: String) -> SecretValue? {
        let text = encoded.trimmingWhitespace()
        guard let bytes = Data(base64URL: Substring(text.prefix { $0 != "=" })), let plain = xor(Array(bytes), Array(otp.utf8))
        else { return nil }
        return SecretValue(String(decoding: plain, as: UTF8.self))
    }

    private static func xor(_ lhs: [UInt8], _ rhs: [UInt8]) -> [UInt8]? {
        guard lhs.count == rhs.count else { return nil }
        return zip(lhs, rhs).map { $0 ^ $1 }
    }
}
