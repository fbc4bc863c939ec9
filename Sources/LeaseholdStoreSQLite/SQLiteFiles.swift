import Foundation

/// File-system preparation for the SQLite store: private directory and file permissions.
enum SQLiteFiles {
    /// Creates the parent directory (mode 0700) and the database file (mode 0600) if missing, and tightens an
    /// existing file to 0600.
    static func prepare(databasePath path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(
                atPath: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            try setPermissions(0o700, of: directory)
        }
        if !FileManager.default.fileExists(atPath: path) {
            let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            close(descriptor)
        }
        try setPermissions(0o600, of: path)
    }

    /// Sets mode 0600 on the `-wal` and `-shm` files, whatever the umask was when SQLite created them.
    static func restrictCompanions(of path: String) throws {
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try setPermissions(0o600, of: path + suffix)
        }
    }

    private static func setPermissions(_ mode: mode_t, of path: String) throws {
        guard chmod(path, mode) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}
