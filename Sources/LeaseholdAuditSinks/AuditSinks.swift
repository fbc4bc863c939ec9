import LeaseholdService

/// Builds the sink of an audit device: the transports behind ``AuditSinkRegistry``.
public enum AuditSinks {
    /// The sink for `device`, from its parsed settings. Throws when a CA file or PEM cannot be loaded.
    public static func make(device: AuditDevice, settings: AuditSinkSettings) throws -> any AuditSink {
        let format = AuditEntryFormat(framing: settings.framing)
        switch settings.destination {
        case .file(let path, let mode):
            return FileAuditSink(path: path, mode: mode, format: format)
        case .stream(let host, let port, let tls):
            return try StreamAuditSink(host: host, port: port, trust: tls, format: format)
        case .datagram(let host, let port):
            return DatagramAuditSink(host: host, port: port, format: format)
        case .webhook(let url, let tls, let headers):
            return try WebhookAuditSink(url: url, trust: tls, headers: headers, format: format)
        }
    }
}
