import Foundation
import LeaseholdCore
import LeaseholdSeal
import Logging
import Synchronization

/// What `sys/seal-status` and `sys/unseal` report.
public struct SealStatus: Sendable {
    /// `shamir` or `keyfile`.
    public var type: String
    /// Whether `sys/init` has run.
    public var initialized: Bool
    /// Whether the broker is sealed.
    public var sealed: Bool
    /// Shares needed.
    public var threshold: Int
    /// Shares issued.
    public var shares: Int
    /// Shares submitted so far.
    public var progress: Int
    /// The id of the current unseal attempt ("" when none).
    public var nonce: String
    /// The installation id (reported only when unsealed).
    public var clusterID: String
    /// The installation name (reported only when unsealed).
    public var clusterName: String
}

/// The unsealed key material: the data-key ring and the keyed hashers derived from it.
public struct UnsealedKeys: Sendable {
    /// The AES-256-GCM data keys.
    public let keyRing: KeyRing
    /// Keyed hash for tokens and secret ids as they are stored.
    public let tokenHasher: KeyedHasher
    /// Keyed hash for secret values referenced in audit rows.
    public let auditHasher: KeyedHasher
    /// Decoded store entries, valid for this key ring only (see ``DecodedValueCache``).
    let decodedValues = DecodedValueCache()

    init(keyRing: KeyRing) {
        self.keyRing = keyRing
        self.tokenHasher = KeyedHasher(key: keyRing.derivedKey(purpose: "token-hmac"))
        self.auditHasher = KeyedHasher(key: keyRing.derivedKey(purpose: "audit-hmac"))
    }
}

/// The result of `sys/init`.
public struct InitializationResult: Sendable {
    /// The unseal key shares (empty with auto-unseal).
    public var keys: [SecretValue]
    /// The initial root token.
    public var rootToken: SecretValue
}

/// Owns the seal state: initialization, unseal progress, sealing, and key-term rotation.
public actor SealManager {
    private let store: any BrokerStore
    private let autoUnseal: AutoUnseal
    private let logger: Logger
    private var configuration: SealParameters?
    private var rootKey: RootKey?
    private var unsealed: UnsealedKeys?
    /// How many times this instance has been sealed; read without an actor hop, so a request can tell at its end
    /// whether a seal happened while it ran.
    private nonisolated let sealings = Atomic<UInt64>(0)

    /// The seal count now: compare with a later value to learn whether the broker was sealed in between.
    public nonisolated var sealCount: UInt64 { sealings.load(ordering: .acquiring) }
    private var submittedShares: [[UInt8]] = []
    private var nonce = ""
    private var rootGeneration: RootGenerationAttempt?

    /// Creates the manager and reads the seal configuration from the store.
    public init(store: any BrokerStore, autoUnseal: AutoUnseal, logger: Logger) async throws {
        self.store = store
        self.autoUnseal = autoUnseal
        self.logger = logger
        if let entry = try await store.entry(SealParameters.storeKey) {
            self.configuration = try JSONDecoder().decode(SealParameters.self, from: entry.value)
        }
    }

    /// The unsealed keys, or the sealed error. While sealed, first looks for an initialization another instance
    /// made on a shared store (a key-file broker then unseals itself, see ``refreshConfiguration()``).
    public func keys() async throws -> UnsealedKeys {
        if unsealed == nil { await refreshConfiguration() }
        guard let unsealed else { throw LeaseholdError.sealed }
        return unsealed
    }

    /// Whether the broker is sealed.
    public var isSealed: Bool { unsealed == nil }

    /// Whether the broker has been initialized.
    public var isInitialized: Bool { configuration != nil }

    /// The current status.
    public func status() async -> SealStatus {
        await refreshConfiguration()
        return SealStatus(
            type: configuration?.type ?? defaultType, initialized: configuration != nil, sealed: unsealed == nil,
            threshold: configuration?.secretThreshold ?? 0, shares: configuration?.secretShares ?? 0,
            progress: submittedShares.count, nonce: nonce, clusterID: configuration?.clusterID ?? "",
            clusterName: configuration?.clusterName ?? "")
    }

    /// Picks up an initialization another instance made on a shared store since this one started (it read none
    /// then, and would otherwise report "not initialized" and refuse shares until restarted). A key-file broker
    /// unseals itself then, as it does at start; one sealed on purpose later stays sealed (its configuration is
    /// known, so nothing is picked up).
    ///
    /// For a key-file broker the configuration is kept only once the unseal succeeded, so a failure (the store or the
    /// key file briefly unreadable) is tried again on the next call rather than leaving it sealed until restarted.
    private func refreshConfiguration() async {
        guard configuration == nil, let entry = try? await store.entry(SealParameters.storeKey),
            let stored = try? JSONDecoder().decode(SealParameters.self, from: entry.value), configuration == nil
        else { return }
        guard case .keyFile(let path) = autoUnseal, unsealed == nil else {
            configuration = stored
            return
        }
        do {
            try await open(with: try RootKey.load(keyFile: path))
            configuration = stored
        } catch {
            logger.error(
                "auto-unseal failed after another instance initialized the store; retried on the next request",
                metadata: ["error.type": "\(type(of: error))"])
        }
    }

    private var defaultType: String {
        if case .keyFile = autoUnseal { return "keyfile" }
        return "shamir"
    }

    /// Initializes the broker: generates the root key and key ring, splits the root key into shares (Shamir) or
    /// uses the key file. `makeRootToken` makes the initial root token with the fresh keys and commits it, with its
    /// audit row, in one batch with the operations it is given (the seal parameters and the sealed ring, written
    /// only if absent), and returns it. All or nothing: if that commit fails, nothing is stored, nothing changes
    /// here, and initialization can be tried again. A key-file broker is left unsealed, a Shamir one sealed.
    public func initialize(
        shares: Int, threshold: Int,
        makeRootToken: @Sendable (UnsealedKeys, _ sealOperations: [StoreOperation]) async throws -> SecretValue
    ) async throws -> InitializationResult {
        await refreshConfiguration()
        guard configuration == nil else { throw LeaseholdError.invalidRequest("Vault is already initialized") }
        let rootKey: RootKey
        var keys: [SecretValue] = []
        let type: String
        switch autoUnseal {
        case .keyFile(let path):
            rootKey = try RootKey.load(keyFile: path)
            type = "keyfile"
        case .none:
            guard shares >= 1, shares <= 255 else {
                throw LeaseholdError.invalidRequest("invalid seal configuration: secret_shares must be between 1 and 255")
            }
            guard threshold >= 1, threshold <= shares else {
                throw LeaseholdError.invalidRequest(
                    "invalid seal configuration: secret_threshold must be between 1 and secret_shares")
            }
            // As in Vault: with one share needed, every share would hold the root key itself.
            guard threshold > 1 || shares == 1 else {
                throw LeaseholdError.invalidRequest("invalid seal configuration: threshold must be greater than one for multiple shares")
            }
            rootKey = RootKey.generate()
            keys = try Shamir.split(rootKey.bytes, shares: shares, threshold: threshold).map {
                SecretValue(Data($0).hexString)
            }
            type = "shamir"
        }
        let keyRing = KeyRing.generate()
        let configuration = SealParameters(
            type: type, secretShares: keys.count, secretThreshold: type == "shamir" ? threshold : 0,
            clusterID: SecureRandom.uuid(), clusterName: "leasehold-cluster-" + String(SecureRandom.accessor().prefix(8)))
        let unsealed = UnsealedKeys(keyRing: keyRing)
        let rootToken = try await makeRootToken(
            unsealed,
            [
                .put(SealParameters.storeKey, try JSONEncoder().encode(configuration), .absent),
                .put(SealParameters.keyRingKey, try keyRing.sealed(with: rootKey), .absent),
            ])
        self.configuration = configuration
        if type != "shamir" {
            // As in Vault, a Shamir-sealed broker starts sealed: operators unseal it with their shares.
            self.rootKey = rootKey
            self.unsealed = unsealed
        }
        logger.info("broker initialized", metadata: ["seal.type": "\(type)"])
        return InitializationResult(keys: keys, rootToken: rootToken)
    }

    /// Unseals from the key file when one is configured. Returns whether the broker is now unsealed.
    @discardableResult
    public func autoUnsealIfConfigured() async throws -> Bool {
        guard case .keyFile(let path) = autoUnseal, configuration != nil, unsealed == nil else { return unsealed != nil }
        try await open(with: try RootKey.load(keyFile: path))
        return true
    }

    /// Submits one unseal key share (hex or base64). When the threshold is reached, rebuilds the root key and
    /// opens the key ring; wrong shares reset the progress and fail.
    public func submit(share text: String) async throws {
        await refreshConfiguration()
        guard let configuration else { throw LeaseholdError(.invalidRequest, "Vault is not initialized") }
        guard unsealed == nil else { return }
        guard configuration.type == "shamir" else {
            throw LeaseholdError.invalidRequest("this broker auto-unseals from its key file")
        }
        let share = try Self.decodeShare(text)
        if submittedShares.isEmpty { nonce = SecureRandom.uuid() }
        if submittedShares.contains(where: { ConstantTime.equals($0, share) }) { return }
        submittedShares.append(share)
        guard submittedShares.count >= configuration.secretThreshold else { return }
        defer { resetProgress() }
        let combined: [UInt8]
        do {
            combined = try Shamir.combine(submittedShares)
        } catch {
            throw LeaseholdError.invalidRequest("invalid key share")
        }
        do {
            try await open(with: try RootKey(bytes: combined))
        } catch let error as LeaseholdError where error.code == .storeUnavailable {
            throw error
        } catch {
            throw LeaseholdError.invalidRequest("unseal failed: the key shares do not match this installation")
        }
    }

    // MARK: Root token generation

    /// The root generation in progress, if any.
    public func rootGenerationStatus() async -> RootGenerationStatus {
        await refreshConfiguration()
        return RootGenerationStatus(
            started: rootGeneration != nil, nonce: rootGeneration?.nonce ?? "", progress: rootGeneration?.shares.count ?? 0,
            required: configuration?.secretThreshold ?? 0, otpLength: RootGenerationAttempt.otpLength)
    }

    /// Starts a root generation with the caller's one-time password, or a generated one, returned once, with the
    /// status of the attempt it started. Needs an unsealed Shamir broker and no attempt in progress.
    public func startRootGeneration(otp: String?) async throws -> (status: RootGenerationStatus, generatedOTP: SecretValue?) {
        guard let configuration else { throw LeaseholdError.invalidRequest("Vault is not initialized") }
        guard configuration.type == "shamir" else {
            throw LeaseholdError.invalidRequest(
                "root generation needs unseal key shares, and this broker auto-unseals from its key file")
        }
        guard unsealed != nil else { throw LeaseholdError.sealed }
        guard rootGeneration == nil else { throw LeaseholdError.invalidRequest("root generation already in progress") }
        let attempt = try RootGenerationAttempt(otp: otp)
        rootGeneration = attempt
        return (await rootGenerationStatus(), otp?.isEmpty == false ? nil : attempt.otp)
    }

    /// Cancels the root generation in progress (only the one named by `nonce`, when given).
    public func cancelRootGeneration(nonce: String? = nil) {
        guard nonce == nil || rootGeneration?.nonce == nonce else { return }
        rootGeneration = nil
    }

    /// Adds one unseal key share to the attempt named by `nonce`. Once the threshold is reached the shares must
    /// rebuild this installation's root key: then the attempt ends and is returned (``RootGenerationStep/complete``);
    /// otherwise the shares are discarded (the attempt stays, with no progress) and the call fails.
    func submitRootGenerationShare(_ text: String, nonce: String) throws -> RootGenerationStep {
        guard let configuration, var attempt = rootGeneration else {
            throw LeaseholdError.invalidRequest("no root generation in progress")
        }
        guard let rootKey, unsealed != nil else { throw LeaseholdError.sealed }
        guard nonce == attempt.nonce else {
            throw LeaseholdError.invalidRequest("incorrect nonce supplied: it does not name the root generation in progress")
        }
        let share = try Self.decodeShare(text)
        guard !attempt.shares.contains(where: { ConstantTime.equals($0, share) }) else {
            throw LeaseholdError.invalidRequest("given key has already been provided during this generation operation")
        }
        let before = attempt
        attempt.shares.append(share)
        guard attempt.shares.count >= configuration.secretThreshold else {
            rootGeneration = attempt
            return .progress(attempt.shares.count, required: configuration.secretThreshold, undo: before)
        }
        let combined = try? Shamir.combine(attempt.shares)
        attempt.shares.removeAll()
        guard let combined, ConstantTime.equals(combined, rootKey.bytes) else {
            rootGeneration = attempt
            throw LeaseholdError.invalidRequest("root generation failed: the key shares do not match this installation")
        }
        rootGeneration = nil
        return .complete(attempt, required: configuration.secretThreshold, undo: before)
    }

    /// Puts back the attempt as it was before a submission whose request was not recorded (its commit failed), so
    /// that no share counts without its audit row and the quorum's work is not lost.
    func restoreRootGeneration(_ attempt: RootGenerationAttempt) {
        guard rootGeneration == nil || rootGeneration?.nonce == attempt.nonce else { return }
        rootGeneration = attempt
    }

    /// Discards the unseal progress.
    public func resetProgress() {
        submittedShares = []
        nonce = ""
    }

    /// Seals the broker: forgets the root key and key ring, and any root generation in progress.
    public func seal() {
        sealings.add(1, ordering: .releasing)
        unsealed = nil
        rootKey = nil
        rootGeneration = nil
        resetProgress()
        logger.info("broker sealed")
    }

    /// Prepares a new data-key term: the stored ring extended by a fresh key, and the write that stores it if the
    /// ring is still at the version read. The caller commits the write with its audit row (no audit row, no
    /// rotation), then makes the ring active here with ``install(_:)``; data written under older terms stays
    /// readable.
    ///
    /// The new term is added to the ring as stored, not to the one in memory: another instance sharing the store may
    /// have rotated since this one unsealed, and a ring built from the stale copy would replace that instance's
    /// newest key, leaving what it wrote under it undecryptable.
    public func prepareRotation() async throws -> (ring: KeyRing, write: StoreOperation) {
        guard unsealed != nil, let rootKey else { throw LeaseholdError.sealed }
        guard let current = try await store.entry(SealParameters.keyRingKey) else {
            throw LeaseholdError(.internalError, "key ring missing from the store")
        }
        let rotated = try KeyRing.open(current.value, with: rootKey).rotated()
        return (rotated, .put(SealParameters.keyRingKey, try rotated.sealed(with: rootKey), .version(current.version)))
    }

    /// The active term of the key ring as stored, which another instance sharing the store may have rotated past the
    /// one this instance holds; `nil` while sealed.
    func storedActiveTerm() async throws -> UInt32? {
        guard unsealed != nil, let rootKey else { return nil }
        guard let current = try await store.entry(SealParameters.keyRingKey) else {
            throw LeaseholdError(.internalError, "key ring missing from the store")
        }
        return try KeyRing.open(current.value, with: rootKey).activeTerm
    }

    /// Makes a committed ring (``prepareRotation()``) the active one, unless the broker was sealed meanwhile or
    /// already holds a newer ring.
    public func install(_ ring: KeyRing) {
        guard let current = unsealed, ring.activeTerm > current.keyRing.activeTerm else { return }
        unsealed = UnsealedKeys(keyRing: ring)
    }

    /// The keys that can decrypt `ciphertext`, for a value written under a term this instance's ring lacked when
    /// its request began: the current keys when they have that term (another request may have reloaded them), else
    /// the ring reloaded from the store, kept when another instance sharing the store rotated it. `nil` when sealed,
    /// or when neither ring has the term (a damaged value).
    public func keys(decrypting ciphertext: Data) async throws -> UnsealedKeys? {
        if let unsealed, unsealed.keyRing.hasKey(for: ciphertext) { return unsealed }
        guard let rootKey, let entry = try await store.entry(SealParameters.keyRingKey) else { return nil }
        let stored = try KeyRing.open(entry.value, with: rootKey)
        // Checked after the read: a local rotation, another reload or a seal may have happened meanwhile.
        guard let current = unsealed else { return nil }
        if current.keyRing.hasKey(for: ciphertext) { return current }
        guard stored.activeTerm > current.keyRing.activeTerm, stored.hasKey(for: ciphertext) else { return nil }
        let reloaded = UnsealedKeys(keyRing: stored)
        unsealed = reloaded
        logger.info("data key ring reloaded: rotated by another instance", metadata: ["key.term": "\(stored.activeTerm)"])
        return reloaded
    }

    private func open(with rootKey: RootKey) async throws {
        guard let entry = try await store.entry(SealParameters.keyRingKey) else {
            throw LeaseholdError(.internalError, "key ring missing from the store")
        }
        let keyRing = try KeyRing.open(entry.value, with: rootKey)
        self.rootKey = rootKey
        self.unsealed = UnsealedKeys(keyRing: keyRing)
        logger.info("broker unsealed")
    }

    static func decodeShare(_ text: String) throws -> [UInt8] {
        let trimmed = text.trimmingWhitespace()
        let bytes: [UInt8]
        if let hex = Data(hexString: trimmed) {
            bytes = Array(hex)
        } else if let decoded = Data(base64Encoded: trimmed) {
            bytes = Array(decoded)
        } else {
            throw LeaseholdError.invalidRequest("invalid key: not hex or base64")
        }
        guard bytes.count >= 16 else {
            throw LeaseholdError.invalidRequest("invalid key: key is shorter than minimum 16 bytes")
        }
        guard bytes.count <= 64 else { throw LeaseholdError.invalidRequest("invalid key: key is too long") }
        return bytes
    }
}
