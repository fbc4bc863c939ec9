import ArgumentParser
import Foundation
import LeaseholdCore

/// `leasehold login [-method=M] [-path=P] [TOKEN | key=value...]`: authenticates and stores the token for later
/// commands (in `~/.leasehold-token`, mode 0600).
///
/// Methods and their parameters (Vault's names):
/// - `token` (default): the token as argument or on standard input.
/// - `userpass`: `username=` and `password=` (read from standard input when absent).
/// - `approle`: `role_id=` and `secret_id=`.
/// - `cert`: optional `name=`; the certificate is the one given with `-client-cert`/`-client-key`.
/// - `jwt` / `oidc`: `role=` and `jwt=`.
/// - `kubernetes`: `role=` and `jwt=` (default: the pod's service-account token file).
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Authenticate with a token or an auth method and store the token.")
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("method"), help: "token, userpass, approle, cert, jwt, oidc or kubernetes.") var method = "token"
    @Option(name: .customLong("path"), help: "The auth mount path (default: the method's name).") var mountPath: String?
    @Flag(name: .customLong("no-store"), help: "Print the token instead of storing it.") var noStore = false
    @Argument(help: "The token (method token) or key=value parameters.") var arguments: [String] = []

    static let serviceAccountTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

    func run() async throws {
        let token: String
        if method == "token" {
            // Typed at a terminal, the token is not echoed; piped in, it is read as a line.
            token = arguments.first
                ?? (isatty(STDIN_FILENO) == 1 ? String(cString: getpass("Token (will be hidden): ")) : readLine(strippingNewline: true)) ?? ""
        } else {
            token = try await logIn()
        }
        let reply = try await options.makeClient(token: token).send("GET", "auth/token/lookup-self")
        let data = reply.data ?? [:]
        if noStore {
            print("Success! You are now authenticated. The token was not stored (-no-store).\n")
            OutputPrinter.table(["token": .string(token)])
        } else {
            let path = ClientOptions.tokenFilePath
            try PrivateFile.write(Data(token.utf8), to: path)
            print("Success! You are now authenticated. The token was stored in \(path).\n")
        }
        OutputPrinter.table(data.filter { ["accessor", "policies", "ttl", "display_name", "renewable", "environment"].contains($0.key) })
    }

    /// Calls the method's login endpoint without a token and returns the issued token.
    private func logIn() async throws -> String {
        var fields = try KeyValueArguments.parse(arguments)
        let mount = (mountPath ?? method).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let path: String
        switch method {
        case "userpass":
            guard let username = fields.removeValue(forKey: "username")?.stringValue, !username.isEmpty else {
                throw ValidationError("userpass needs username=NAME")
            }
            if fields["password"] == nil {
                FileHandle.standardError.write(Data("Password (will be hidden): ".utf8))
                fields["password"] = .string(String(cString: getpass("")))
            }
            path = "auth/\(mount)/login/\(username)"
        case "approle", "cert", "jwt", "oidc":
            path = "auth/\(mount)/login"
        case "kubernetes":
            if fields["jwt"] == nil {
                guard let data = FileManager.default.contents(atPath: Self.serviceAccountTokenFile) else {
                    throw ValidationError("kubernetes needs jwt=TOKEN or a readable \(Self.serviceAccountTokenFile)")
                }
                fields["jwt"] = .string(String(decoding: data, as: UTF8.self).trimmingWhitespace())
            }
            path = "auth/\(mount)/login"
        default:
            throw ValidationError("unknown method \"\(method.prefix(32))\": token, userpass, approle, cert, jwt, oidc or kubernetes")
        }
        let reply = try await options.makeClient(token: nil).send("PUT", path, body: fields)
        guard let token = reply.body?.objectValue?["auth"]?.objectValue?["client_token"]?.stringValue, !token.isEmpty else {
            throw ClientError(message: "the login response carried no token")
        }
        return token
    }
}
