import Glibc

/// Thin wrappers over the positioned system calls, retrying on `EINTR` and on partial transfers.
enum POSIXFile {
    /// Writes all of `buffer` at `offset`; returns `errno` on failure.
    static func writeAll(_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int64) -> Int32? {
        var done = 0
        while done < buffer.count {
            let result = pwrite(
                descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if result == 0 { return EIO }
            done += result
        }
        return nil
    }

    /// The outcome of ``readAll(_:_:at:)``.
    enum ReadResult {
        case complete
        case endOfFile
        case failure(Int32)
    }

    /// Fills all of `buffer` from `offset`.
    static func readAll(_ descriptor: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> ReadResult {
        var done = 0
        while done < buffer.count {
            let result = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                return .failure(errno)
            }
            if result == 0 { return .endOfFile }
            done += result
        }
        return .complete
    }

    /// `open(2)` retrying on `EINTR`; returns the descriptor or `-errno`.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) -> Int32 {
        while true {
            let descriptor = Glibc.open(path, flags | O_CLOEXEC, mode)
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { return -errno }
        }
    }

    /// The canonical absolute path of an existing path (symlinks resolved), or `nil`.
    static func realPath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The `st_mode` of `path` without following a final symlink, or `nil` when it does not exist.
    static func linkMode(_ path: String) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode
    }

    /// True when `mode` describes a directory.
    static func isDirectory(_ mode: mode_t) -> Bool { mode & S_IFMT == S_IFDIR }

    /// True when `mode` describes a symbolic link.
    static func isSymlink(_ mode: mode_t) -> Bool { mode & S_IFMT == S_IFLNK }
}
