import Foundation
import LeaseholdCore

/// The unsealed services a request works with, built from the store and the unsealed keys.
struct BrokerServices: Sendable {
    let store: EncryptedStore
    let keys: UnsealedKeys
    let tokens: TokenStore
    let policies: PolicyStore
    let mounts: MountTable
    let seal: SealManager
    let limits: LeaseLimits
    let information: ServerInformation
}

/// Static facts about this server for `sys/health`, `sys/seal-status` and `sys/leader`.
public struct ServerInformation: Sendable {
    /// The version string, e.g. `0.1.0`.
    public var version: String
    /// The store's kind (`sqlite`, `postgresql`, `inmem`).
    public var storageType: String
    /// The advertised API address.
    public var apiAddress: String

    /// Creates the information.
    public init(version: String, storageType: String, apiAddress: String) {
        self.version = version
        self.storageType = storageType
        self.apiAddress = apiAddress
    }
}
