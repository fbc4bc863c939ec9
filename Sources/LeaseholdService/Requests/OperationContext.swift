import Foundation
import LeaseholdCore
import LeaseholdPolicy

/// Everything a route handler may use: the request, captured path parameters, the caller, and the staged writes.
struct OperationContext: Sendable {
    let request: LogicalRequest
    let parameters: [String: String]
    /// The authenticated caller's token, when there is one.
    let caller: Versioned<TokenEntry>?
    /// The caller's ACL (empty for unauthenticated routes without a token).
    let acl: ACL
    let transaction: StoreTransaction
    let now: Date
    let services: BrokerServices
    /// The secrets-engine mount that owns the path, for engine routes.
    let mount: MountEntry?

    /// A captured path parameter.
    func parameter(_ name: String) throws -> String {
        guard let value = parameters[name], !value.isEmpty else {
            throw LeaseholdError.invalidRequest("missing \(name) in the path")
        }
        return value
    }

    /// The request's fields.
    var data: RequestData { request.data }

    /// The owning mount, for engine routes.
    func requireMount() throws -> MountEntry {
        guard let mount else { throw LeaseholdError(.internalError, "engine route without a mount") }
        return mount
    }

    /// The caller's token entry or a permission error.
    func requireCaller() throws -> Versioned<TokenEntry> {
        guard let caller else { throw LeaseholdError.permissionDenied }
        return caller
    }
}
