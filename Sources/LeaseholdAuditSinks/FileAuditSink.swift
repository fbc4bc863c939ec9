#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LeaseholdCore
import LeaseholdService
import NIOPosix
import Synchronization

/// Appends one JSON line per row to a file, and acknowledges a batch only after `write` and `fsync` succeeded.
///
/// A failed batch is cut off again (`ftruncate` to the size before it), so a retry does not leave a partial copy.
/// The path must name a regular file (a symbolic link at the end is not followed); a file it creates gets the
/// device's mode, an existing one keeps its own. ``reopen()`` closes the file; the next batch opens the path again, so after log rotation (rename, then SIGHUP)
/// new rows go to a new file. `stdout` writes to standard output without `fsync`. The blocking calls run on NIO's
/// thread pool, off Swift's cooperative threads.
final class FileAuditSink: AuditSink {
    private let path: String
    private let mode: mode_t
    private let format: AuditEntryFormat
    /// The open descriptor, or -1 when the next batch must open the path.
    private let descriptor = Mutex<Int32>(-1)

    init(path: String, mode: Int, format: AuditEntryFormat) {
        self.path = path
        self.mode = mode_t(mode)
        self.format = format
    }

    func deliver(_ records: [AuditRecord]) async throws(AuditDeliveryFailure) {
        var bytes: [UInt8] = []
        do {
            for record in records { bytes += try format.json(record) + [UInt8(ascii: "\n")] }
        } catch {
            throw AuditDeliveryFailure(delivered: 0, reason: "a row could not be encoded")
        }
        let result: Result<Void, AuditDeliveryFailure>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { [self, bytes] in append(bytes) }
        } catch {
            throw AuditDeliveryFailure(delivered: 0, reason: "the file thread pool is not running")
        }
        try result.get()
    }

    func reopen() async {
        descriptor.withLock { fd in
            if fd > 2 { closeDescriptor(fd) }
            fd = -1
        }
    }

    func close() async { await reopen() }

    /// Writes and syncs `bytes` (blocking); on failure restores the previous length and closes the file.
    private func append(_ bytes: [UInt8]) -> Result<Void, AuditDeliveryFailure> {
        descriptor.withLock { fd -> Result<Void, AuditDeliveryFailure> in
            if fd < 0 {
                if path == "stdout" {
                    fd = STDOUT_FILENO
                } else {
                    switch Self.openRegularFile(path, mode: mode) {
                    case .success(let opened): fd = opened
                    case .failure(let failure): return .failure(failure)
                    }
                }
            }
            let sizeBefore = lseek(fd, 0, SEEK_END)
            var written = 0
            var failed: AuditDeliveryFailure?
            while written < bytes.count, failed == nil {
                let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    written += count
                } else if count == 0 || errno != EINTR {
                    failed = Self.failure("write")
                }
            }
            if failed == nil, fd != STDOUT_FILENO, fsync(fd) != 0 { failed = Self.failure("fsync") }
            guard let failed else { return .success(()) }
            if fd != STDOUT_FILENO {
                if sizeBefore >= 0 { _ = ftruncate(fd, sizeBefore) }
                closeDescriptor(fd)
            }
            fd = -1
            return .failure(failed)
        }
    }

    /// Opens `path` for appending: a new file is created with `mode`; an existing one is used as it is (its mode
    /// untouched) and only if it is a regular file reached without following a symbolic link at the end. A FIFO
    /// without a reader fails at once instead of blocking, and devices, FIFOs and sockets are refused (they cannot be
    /// synced or truncated after a failed batch).
    private static func openRegularFile(_ path: String, mode: mode_t) -> Result<Int32, AuditDeliveryFailure> {
        let flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK
        var fd = open(path, flags | O_CREAT | O_EXCL, mode)
        if fd >= 0 {
            _ = fchmod(fd, mode)  // the process umask may have narrowed it
        } else if errno == EEXIST {
            fd = open(path, flags)
        }
        guard fd >= 0 else { return .failure(failure("open")) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            closeDescriptor(fd)
            return .failure(AuditDeliveryFailure(delivered: 0, reason: "open failed: not a regular file (use file_path=stdout for standard output)"))
        }
        return .success(fd)
    }

    private static func failure(_ call: String) -> AuditDeliveryFailure {
        AuditDeliveryFailure(delivered: 0, reason: "\(call) failed: \(String(cString: strerror(errno)))")
    }
}

/// `close(2)`, out of reach of the sinks' own `close()` methods.
func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
