import Foundation
import LeaseholdCore

/// How the broker's root key is protected, stored in plaintext at `system/seal-config` once initialized.
public struct SealParameters: Sendable, Codable, Hashable {
    /// `shamir` (unseal key shares) or `keyfile` (auto-unseal from a local key file).
    public var type: String
    /// The number of shares handed out at init.
    public var secretShares: Int
    /// The number of shares needed to unseal.
    public var secretThreshold: Int
    /// A random id for this installation.
    public var clusterID: String
    /// A human-readable name for this installation.
    public var clusterName: String

    enum CodingKeys: String, CodingKey {
        case type
        case secretShares = "secret_shares"
        case secretThreshold = "secret_threshold"
        case clusterID = "cluster_id"
        case clusterName = "cluster_name"
    }

    static let storeKey = StoreKey(.system, "seal-config")
    static let keyRingKey = StoreKey(.system, "keyring")
}

/// The auto-unseal mechanism configured for this server, if any.
public enum AutoUnseal: Sendable {
    /// Shamir shares typed in by operators.
    case none
    /// A local key file holding the root key (`seal "keyfile" { path = … }`).
    case keyFile(path: String)
}
