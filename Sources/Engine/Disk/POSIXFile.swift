import Glibc

/// Thin wrappers over the positioned system calls, retrying on `EINTR` and on partial transfers.
enum POSIXFile {
    /// The most bytes one `pwrite` carries: a 1 MiB piece goes out in four calls. btq's 1 GiB benchmark
    /// download on ext4 (Linux 6.18 in a VM; medians of 3 to 6 rounds, each size alternating with 16 KiB
    /// calls in one run): 1.88 against 2.11 CPU s and 2.55 against 2.72 s with 1 MiB pieces, 2.08 against
    /// 2.56 CPU s with 256 KiB pieces, 2.69 against 2.82 with 16 KiB, 1.85 against 2.20 with 4 MiB (every
    /// size from 16 KiB to 16 MiB gained); 192 files of uneven sizes, 0.66 to 0.76 against 0.81 to 0.86
    /// CPU s. What is saved is the calls' system time: 32 and 64 KiB calls gave part of it, 1 MiB calls
    /// no more than 256 KiB. An earlier measurement on the same kernel had whole 1 MiB pieces slower than
    /// 16 KiB calls (5.0 to 7.2 s against 2.7 to 4.7 s: fresh large page-cache folios slower to fill); it
    /// no longer shows, and a call of 256 KiB bounds what one write asks of the page cache either way.
    static let writeChunk = 256 << 10

    /// Writes all of `buffer` at `offset` in calls of at most ``writeChunk`` bytes; returns `errno` on
    /// failure.
    static func writeAll(
        _ descriptor: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int64
    ) -> Int32? {
        var done = 0
        while done < buffer.count {
            let result = pwrite(
                descriptor, buffer.baseAddress! + done, min(buffer.count - done, writeChunk),
                off_t(offset) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if result == 0 { return EIO }
            done += result
        }
        return nil
    }

    /// Write-behind and drop-behind for a file being downloaded: `posix_fadvise(POSIX_FADV_DONTNEED)`
    /// over the whole file starts writeback of its dirty pages (without waiting) and drops the pages
    /// already written back. A download then holds about one journal interval of data in the page
    /// cache instead of all of it: it neither pushes other programs' files out of memory nor leaves a
    /// large sync for the next checkpoint, and new writes reuse recently freed pages. Measured on a
    /// 1 GiB download (three runs each): 1.15 to 1.4 s of system time against 1.2 to 2.2 s, and the
    /// final sync took milliseconds instead of 0.6 s. Errors show at the next `fdatasync`.
    static func writeBehind(_ descriptor: Int32) {
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
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

    /// True when `mode` describes a directory.
    static func isDirectory(_ mode: mode_t) -> Bool { mode & S_IFMT == S_IFDIR }
}
