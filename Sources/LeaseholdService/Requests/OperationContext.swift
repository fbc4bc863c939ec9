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

    /// Whether `name` can name a stored object: at most 128 ASCII letters, digits and `extra` characters.
    static func isValidName(_ name: String, allowing extra: String = "-_.") -> Bool {
        name.count <= 128 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || extra.contains($0)) }
    }

    /// A path parameter that names something: 1 to 128 ASCII letters, digits and the `extra` characters.
    func name(_ parameter: String, allowing extra: String = "-_.") throws -> String {
        let name = try self.parameter(parameter)
        guard Self.isValidName(name, allowing: extra) else {
            throw LeaseholdError.invalidRequest("names may contain only letters, digits and \(extra.map { "'\($0)'" }.joined(separator: ", "))")
        }
        return name
    }

    /// The value stored at `key`, or a 404 when there is none (the read handlers of every backend).
    func existing<Value: Decodable & Sendable>(_ type: Value.Type, at key: StoreKey) async throws -> Value {
        guard let stored = try await services.store.read(type, at: key) else { throw LeaseholdError.notFound }
        return stored.value
    }

    /// The keys of `namespace` that belong to this request's mount, without the mount prefix (a LIST response);
    /// 404 when there are none.
    func listMountKeys(in namespace: StoreNamespace, where include: (String) async throws -> Bool = { _ in true }) async throws -> LogicalResponse {
        let prefix = try requireMount().path
        var names: [String] = []
        for key in try await services.store.base.allKeys(in: namespace, prefix: prefix) where try await include(key) {
            names.append(String(key.dropFirst(prefix.count)))
        }
        guard !names.isEmpty else { throw LeaseholdError.notFound }
        return LogicalResponse(data: ["keys": .strings(names)])
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
