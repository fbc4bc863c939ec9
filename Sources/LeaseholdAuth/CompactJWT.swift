import Foundation
import LeaseholdCore

/// A JWS in compact serialization, checked for shape before anything is decoded.
///
/// The checks run on the raw bytes, in this order, so hostile input costs at most one linear scan: at most
/// ``maximumLength`` bytes; exactly two `.`; three non-empty segments of base64url characters only (no padding).
/// Only then is the header decoded, and it must be a JSON object with a string `alg` that is accepted. The
/// payload is decoded by ``unverifiedClaims()`` or, after the signature is verified, by ``VerificationKey``.
public struct CompactJWT: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The largest token accepted (16 KiB).
    public static let maximumLength = 16 * 1024
    /// The longest accepted `kid`.
    static let maximumKeyIDLength = 256

    /// The token text.
    let token: String
    /// The header's algorithm.
    public let algorithm: SignatureAlgorithm
    /// The header's key id, if any.
    public let keyID: String?
    private let payloadSegment: Substring

    /// A bearer credential: printed, it shows only its algorithm and key id.
    public var description: String { "CompactJWT(alg: \(algorithm), kid: \(keyID ?? "-"), <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["algorithm": algorithm, "keyID": keyID as Any], displayStyle: .struct) }

    /// Parses `token`, accepting only algorithms in `allowed`.
    public init(_ token: String, allowed: [SignatureAlgorithm]) throws(JWTValidationError) {
        let bytes = token.utf8
        guard !bytes.isEmpty, bytes.count <= Self.maximumLength else { throw .malformed }
        var dots = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                dots += 1
                guard dots <= 2 else { throw .malformed }
            } else if !Self.isBase64URL(byte) {
                throw .malformed
            }
        }
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard dots == 2, segments.allSatisfy({ !$0.isEmpty }) else { throw .malformed }
        guard let header = Self.decodeObject(segments[0]) else { throw .malformed }
        guard case .string(let name)? = header["alg"] else { throw .malformed }
        guard let algorithm = SignatureAlgorithm(rawValue: name), allowed.contains(algorithm) else {
            throw .unsupportedAlgorithm
        }
        guard header["crit"] == nil else { throw .unsupportedCriticalHeader }
        switch header["kid"] {
        case nil, .null: keyID = nil
        case .string(let kid) where kid.utf8.count <= Self.maximumKeyIDLength: keyID = kid
        default: throw .malformed
        }
        self.token = token
        self.algorithm = algorithm
        self.payloadSegment = segments[1]
    }

    /// The payload's claims without any signature check: only for the Kubernetes TokenReview path, where the API
    /// server verifies the token, and for tests.
    public func unverifiedClaims() throws(JWTValidationError) -> JWTClaimSet {
        guard let claims = Self.decodeObject(payloadSegment) else { throw .malformed }
        return JWTClaimSet(claims)
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// Decodes one base64url segment holding a JSON object.
    static func decodeObject(_ segment: Substring) -> [String: JSONValue]? {
        guard let data = Data(base64URL: segment),
            let value = try? JSONDecoder().decode(JSONValue.self, from: data)
        else { return nil }
        return value.objectValue
    }
}

extension Data {
    /// Decodes unpadded base64url text (plain base64 without padding too: its alphabet differs only in `+` and `/`).
    public init?(base64URL text: Substring) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = base64.utf8.count % 4
        guard remainder != 1 else { return nil }
        if remainder > 0 { base64 += String(repeating: "=", count: 4 - remainder) }
        self.init(base64Encoded: base64)
    }
}
