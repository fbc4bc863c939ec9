import Foundation
import LeaseholdCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension RootKey {
    /// The largest key file accepted, in bytes; a key file is small, so anything bigger is a mistake.
    static let maximumKeyFileSize = 4096

    /// Loads a root key from a file (auto-unseal from a local key file).
    ///
    /// The file holds either exactly 32 raw bytes, or text (surrounding whitespace ignored) that is 64 hexadecimal
    /// characters or the standard or URL-safe base64 of 32 bytes. The file must be a regular file (symbolic links
    /// are followed) that neither group nor others may read or write (`mode & 0o077 == 0`, e.g. `chmod 600`). The
    /// permissions are checked on the opened descriptor, so the file cannot be swapped between check and read.
    ///
    /// - Throws: `LeaseholdError` with code `.invalidRequest` naming the path and the problem, never the content.
    public static func load(keyFile path: String) throws -> RootKey {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw keyFileError(path, "cannot be opened: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw keyFileError(path, "cannot be inspected: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw keyFileError(path, "is not a regular file")
        }
        let permissions = UInt32(status.st_mode) & 0o777
        guard permissions & 0o077 == 0 else {
            throw keyFileError(
                path,
                "is accessible by group or others (mode \(String(permissions, radix: 8))); restrict it with chmod 600"
            )
        }
        guard Int(status.st_size) <= maximumKeyFileSize else {
            throw keyFileError(path, "is too large to be a key file")
        }

        var content = try readAll(descriptor, path: path)
        defer { content.resetBytes(in: 0..<content.count) }
        return try RootKey(keyFileContent: content, path: path)
    }

    /// Decodes the content of a key file; see ``load(keyFile:)`` for the accepted formats.
    init(keyFileContent content: Data, path: String) throws {
        if content.count == Self.byteCount {
            try self.init(bytes: [UInt8](content))
            return
        }
        guard let text = String(data: content, encoding: .utf8) else {
            throw Self.keyFileError(path, Self.formatProblem)
        }
        let trimmed = text.trimmingWhitespace()
        if let bytes = Self.decodeHexadecimal(trimmed) ?? Self.decodeBase64(trimmed), bytes.count == Self.byteCount {
            try self.init(bytes: bytes)
            return
        }
        throw Self.keyFileError(path, Self.formatProblem)
    }

    private static let formatProblem =
        "must contain 32 raw bytes, 64 hexadecimal characters, or the base64 encoding of 32 bytes"

    private static func keyFileError(_ path: String, _ problem: String) -> LeaseholdError {
        LeaseholdError(.invalidRequest, "root key file \(path) \(problem)")
    }

    private static func readAll(_ descriptor: Int32, path: String) throws -> Data {
        var content = Data()
        var buffer = [UInt8](repeating: 0, count: maximumKeyFileSize + 1)
        defer {
            for index in buffer.indices { buffer[index] = 0 }
        }
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw keyFileError(path, "cannot be read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return content }
            content.append(contentsOf: buffer[0..<count])
            guard content.count <= maximumKeyFileSize else {
                throw keyFileError(path, "is too large to be a key file")
            }
        }
    }

    private static func decodeHexadecimal(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexadecimalValue(digits[index]), let low = hexadecimalValue(digits[index + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexadecimalValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func decodeBase64(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if !standard.count.isMultiple(of: 4) {
            standard += String(repeating: "=", count: 4 - standard.count % 4)
        }
        return Data(base64Encoded: standard).map { [UInt8]($0) }
    }
}
