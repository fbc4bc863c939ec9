import Hummingbird
import HummingbirdCore
import ServiceLifecycle
import HummingbirdTLS
import LeaseholdService
import Logging
import NIOCore

/// Builds the HTTP(S) listener that serves the broker's API.
public enum BrokerServer {
    /// Makes a listener as a service for the service group. With `certificates` it serves TLS (TLS 1.2 minimum,
    /// client certificates per the settings); without, plaintext, which only dev mode or `tls_disable` allow.
    public static func makeListener(
        broker: Broker, host: String, port: Int, limits: RequestLimits, certificates: ListenerCertificates?,
        renderMetrics: @escaping @Sendable () -> String, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some Service {
        let responder = APIResponder(broker: broker, limits: limits, renderMetrics: renderMetrics)
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil)
        let http: HTTPServerBuilder = .vaultHTTP1(limits: limits)
        let server: HTTPServerBuilder =
            if let certificates {
                try .tls(http, configuration: certificates.makeChannelConfiguration())
            } else {
                http
            }
        return Application(
            responder: responder, server: server, configuration: configuration, onServerRunning: onServerRunning,
            logger: logger)
    }
}
