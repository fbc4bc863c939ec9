#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes files only their owner may read (the stored token, audit exports): the bytes never sit in a file that
/// anyone else could open, whatever the umask.
///
/// The content goes to a new file created with mode 0600 (`O_EXCL`, no symbolic link followed) beside the
/// destination, is synced, and then renamed over it, so the destination is replaced whole or not at all.
/// (`FileManager.createFile(atPath:contents:attributes:)` wrote a temporary file with the umask's mode first and set
/// 0600 only after renaming it, ignoring a failure to.)
enum PrivateFile {
    /// Replaces `path` with `data`, mode 0600.
    static func write(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).\(UUID().uuidString)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create", path, errno) }
        var written = 0
        let complete = data.withUnsafeBytes { bytes -> Bool in
            while written < bytes.count {
                let count = writeBytes(fd, bytes.baseAddress! + written, bytes.count - written)
                if count > 0 { written += count } else if count < 0, errno == EINTR { continue } else { return false }
            }
            return true
        }
        let synced = complete && fsync(fd) == 0
        let code = errno
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let failed = synced ? errno : code
            unlink(temporary)
            throw failure("cannot write", path, failed)
        }
    }

    /// `write(2)`, out of reach of ``write(_:to:)``'s name.
    private static func writeBytes(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(fd, bytes, count)
        #else
        Darwin.write(fd, bytes, count)
        #endif
    }

    private static func failure(_ what: String, _ path: String, _ code: Int32) -> ClientError {
        ClientError(message: "\(what) \(path): \(String(cString: strerror(code)))")
    }
}
