import Crypto
import Foundation
import LeaseholdCore

/// The barrier's AES-256-GCM data keys, one per term, as in Vault's keyring.
///
/// New values are encrypted under the active (highest) term; values written under any older term stay
/// decryptable, because rotation only adds terms. The ring itself is stored encrypted under the ``RootKey``
/// (see ``sealed(with:)`` and ``open(_:with:)``). Keys never appear in `description` or reflection.
///
/// Encrypted value layout: version `0x01` ‖ term (4 bytes, big-endian) ‖ nonce (12 random bytes) ‖ ciphertext ‖
/// tag (16 bytes). The version and term bytes are authenticated together with the caller's associated data.
public struct KeyRing: Sendable, CustomStringConvertible, CustomReflectable {
    /// One data key and when it was installed.
    struct Entry: Sendable {
        var key: SymmetricKey
        var installTime: Date
    }

    /// The error every failed ``decrypt(_:associatedData:)`` throws, whatever the cause, so failures are not an
    /// oracle (security.md §C, CVE-2023-2197). Compare its `message`: `LeaseholdError` equality compares codes only.
    public static let authenticationFailure = LeaseholdError(.internalError, "stored value failed authentication")

    /// The error ``open(_:with:)`` throws when the root key does not authenticate the stored ring.
    public static let wrongRootKey = LeaseholdError(
        .invalidRequest, "unseal failed: the combined key does not open the key ring")

    /// The format version byte that starts every encrypted value.
    static let valueVersion: UInt8 = 1
    /// The format version byte that starts a sealed ring.
    static let ringVersion: UInt8 = 1
    /// Version, term, nonce and tag: the smallest possible encrypted value.
    static let minimumValueSize = 1 + 4 + 12 + 16
    /// Associated data binding a sealed ring to its purpose.
    static let ringAssociatedData = Data("leasehold/keyring".utf8)

    private var entries: [UInt32: Entry]
    /// The term-1 key, kept apart because derived keys must stay stable across rotations.
    private let derivationKey: SymmetricKey

    /// The term that new encryptions use; always the highest term in the ring.
    public private(set) var activeTerm: UInt32

    /// Every term in the ring, ascending; always starts with 1.
    public var terms: [UInt32] { entries.keys.sorted() }

    private init(entries: [UInt32: Entry], activeTerm: UInt32, derivationKey: SymmetricKey) {
        self.entries = entries
        self.activeTerm = activeTerm
        self.derivationKey = derivationKey
    }

    /// Creates a ring with a single fresh random key, term 1.
    public static func generate() -> KeyRing {
        let key = SymmetricKey(size: .bits256)
        return KeyRing(entries: [1: Entry(key: key, installTime: Date())], activeTerm: 1, derivationKey: key)
    }

    /// A copy of the ring with a fresh key under term `activeTerm + 1`, which becomes active. Old terms are kept.
    ///
    /// - Precondition: The active term is below `UInt32.max` (four billion rotations).
    public func rotated() -> KeyRing {
        precondition(activeTerm < UInt32.max, "key ring term space exhausted")
        var copy = self
        copy.activeTerm = activeTerm + 1
        copy.entries[copy.activeTerm] = Entry(key: SymmetricKey(size: .bits256), installTime: Date())
        return copy
    }

    /// When the key of `term` was installed, or `nil` if the ring has no such term.
    public func installTime(term: UInt32) -> Date? {
        entries[term]?.installTime
    }

    /// Encrypts `plaintext` under the active term with a fresh random nonce.
    ///
    /// - Parameter associatedData: Context the value is bound to (for example its storage path), authenticated
    ///   but not encrypted; decryption needs the same bytes.
    /// - Throws: `LeaseholdError` with code `.internalError` if the cryptographic library fails.
    public func encrypt(_ plaintext: some DataProtocol, associatedData: Data) throws -> Data {
        // The active term is always present: every initializer and rotation inserts it.
        guard let entry = entries[activeTerm] else {
            throw LeaseholdError(.internalError, "key ring has no active key")
        }
        let header = Self.header(term: activeTerm)
        do {
            let box = try AES.GCM.seal(
                plaintext, using: entry.key, nonce: AES.GCM.Nonce(), authenticating: header + associatedData)
            return header + box.nonce + box.ciphertext + box.tag
        } catch {
            throw LeaseholdError(.internalError, "encryption failed")
        }
    }

    /// Whether the ring has the key of the term `ciphertext` was encrypted under (`false` for a malformed value).
    public func hasKey(for ciphertext: Data) -> Bool {
        Self.term(of: [UInt8](ciphertext)).map { entries[$0] != nil } ?? false
    }

    /// The term in a value's header, or `nil` when the value is too short or of another version.
    private static func term(of value: [UInt8]) -> UInt32? {
        guard value.count >= minimumValueSize, value[0] == valueVersion else { return nil }
        return value[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// Decrypts a value produced by ``encrypt(_:associatedData:)`` under any term of the ring.
    ///
    /// Fails closed: any tampering, truncation, wrong associated data, unknown version or unknown term throws
    /// ``authenticationFailure``, and no plaintext is ever returned in that case.
    public func decrypt(_ ciphertext: Data, associatedData: Data) throws -> Data {
        let value = [UInt8](ciphertext)
        guard let term = Self.term(of: value), let entry = entries[term] else {
            throw Self.authenticationFailure
        }
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: value[5..<17]),
                ciphertext: value[17..<(value.count - 16)],
                tag: value[(value.count - 16)...])
            return try AES.GCM.open(box, using: entry.key, authenticating: Data(value[0..<5]) + associatedData)
        } catch {
            throw Self.authenticationFailure
        }
    }

    /// A key for another purpose (for example `token-hmac` or `audit-hmac`), derived with HKDF-SHA256 from the
    /// term-1 key, so it is the same before and after any number of rotations.
    ///
    /// Different purposes give independent keys. Changing this derivation invalidates every stored token hash.
    public func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: derivationKey,
            salt: Data("leasehold/derived-key/v1".utf8),
            info: Data(purpose.utf8),
            outputByteCount: 32)
    }

    /// The whole ring encrypted with AES-256-GCM under `rootKey`, with associated data `leasehold/keyring`,
    /// for storage.
    ///
    /// Layout: version `0x01` ‖ nonce (12) ‖ ciphertext ‖ tag (16).
    /// - Throws: `LeaseholdError` with code `.internalError` if the cryptographic library fails.
    public func sealed(with rootKey: RootKey) throws -> Data {
        var plaintext = serialized()
        defer { plaintext.resetBytes(in: 0..<plaintext.count) }
        do {
            let box = try AES.GCM.seal(
                plaintext, using: rootKey.symmetricKey, nonce: AES.GCM.Nonce(), authenticating: Self.ringAssociatedData)
            return Data([Self.ringVersion]) + box.nonce + box.ciphertext + box.tag
        } catch {
            throw LeaseholdError(.internalError, "sealing the key ring failed")
        }
    }

    /// Decrypts and decodes a ring stored by ``sealed(with:)``.
    ///
    /// - Throws: ``wrongRootKey`` if `rootKey` does not authenticate `sealed` (wrong key, tampering or
    ///   truncation); `LeaseholdError` with code `.internalError` if an authentic ring is malformed.
    public static func open(_ sealed: Data, with rootKey: RootKey) throws -> KeyRing {
        let value = [UInt8](sealed)
        guard value.count >= 1 + 12 + 16, value[0] == ringVersion else {
            throw wrongRootKey
        }
        var plaintext: Data
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: value[1..<13]),
                ciphertext: value[13..<(value.count - 16)],
                tag: value[(value.count - 16)...])
            plaintext = try AES.GCM.open(box, using: rootKey.symmetricKey, authenticating: ringAssociatedData)
        } catch {
            throw wrongRootKey
        }
        defer { plaintext.resetBytes(in: 0..<plaintext.count) }
        guard let ring = KeyRing(serialized: [UInt8](plaintext)) else {
            throw LeaseholdError(.internalError, "the stored key ring is malformed")
        }
        return ring
    }

    /// Summarizes the ring without key material.
    public var description: String { "KeyRing(activeTerm: \(activeTerm), terms: \(terms))" }

    /// A mirror showing only the active term and the list of terms.
    public var customMirror: Mirror {
        Mirror(self, children: ["activeTerm": activeTerm, "terms": terms], displayStyle: .struct)
    }

    // MARK: - Encoding

    static func header(term: UInt32) -> Data {
        Data([valueVersion]) + bigEndianBytes(term)
    }

    private static func bigEndianBytes<Value: FixedWidthInteger>(_ value: Value) -> Data {
        withUnsafeBytes(of: value.bigEndian) { Data($0) }
    }

    /// Plaintext layout: active term (4) ‖ entry count (4) ‖ per entry: term (4) ‖ install time in ms since 1970
    /// (8, signed) ‖ key (32). Integers are big-endian.
    private func serialized() -> Data {
        var output = Self.bigEndianBytes(activeTerm) + Self.bigEndianBytes(UInt32(entries.count))
        for term in terms {
            // `terms` lists exactly the keys of `entries`.
            guard let entry = entries[term] else { continue }
            output += Self.bigEndianBytes(term)
            output += Self.bigEndianBytes(Int64((entry.installTime.timeIntervalSince1970 * 1000).rounded()))
            output += entry.key.withUnsafeBytes { Data($0) }
        }
        return output
    }

    /// Decodes ``serialized()`` output; `nil` unless it is well formed with term 1 and the active term present and
    /// the active term the highest.
    private init?(serialized bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        guard let activeTerm = reader.readUInt32(), let count = reader.readUInt32(), count >= 1,
            count <= (bytes.count - 8) / 44
        else { return nil }
        var entries: [UInt32: Entry] = [:]
        for _ in 0..<count {
            guard let term = reader.readUInt32(), let milliseconds = reader.readUInt64(),
                let key = reader.read(32), entries[term] == nil
            else { return nil }
            let installTime = Date(timeIntervalSince1970: Double(Int64(bitPattern: milliseconds)) / 1000)
            entries[term] = Entry(key: SymmetricKey(data: key), installTime: installTime)
        }
        guard reader.isAtEnd, let derivationEntry = entries[1], entries[activeTerm] != nil,
            entries.keys.max() == activeTerm
        else { return nil }
        self.init(entries: entries, activeTerm: activeTerm, derivationKey: derivationEntry.key)
    }
}

/// Reads big-endian integers and byte runs from a buffer, returning `nil` past its end.
private struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func read(_ count: Int) -> ArraySlice<UInt8>? {
        guard count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func readUInt32() -> UInt32? {
        read(4).map { $0.reduce(0) { $0 << 8 | UInt32($1) } }
    }

    mutating func readUInt64() -> UInt64? {
        read(8).map { $0.reduce(0) { $0 << 8 | UInt64($1) } }
    }
}
