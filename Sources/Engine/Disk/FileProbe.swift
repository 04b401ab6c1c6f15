#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cheap questions about files on disk, without reading them.
enum FileProbe {
    /// True when `info` (from ``DownloadFolder``, which never looks outside the folder) is of a regular
    /// file with at least one allocated block: it holds data someone wrote, not just the hole a fresh
    /// sparse preallocation leaves.
    static func hasAllocatedData(_ info: stat?) -> Bool {
        guard let info, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return info.st_blocks > 0
    }

    /// Linux's `SEEK_DATA` and `SEEK_HOLE` (`<unistd.h>` declares them only with `_GNU_SOURCE`).
    static let seekData: Int32 = 3
    static let seekHole: Int32 = 4

    /// The most data extents ``dataRanges(of:length:)`` lists before it calls the rest of the file data.
    static let maxExtents = 4096

    /// The byte ranges of the open regular file `descriptor` (of `length` bytes) that hold data, found
    /// with `SEEK_DATA` and `SEEK_HOLE`: what was written, not the holes a sparse file has where nothing
    /// was. The whole file when the file system cannot tell (no `SEEK_DATA`) or past ``maxExtents``
    /// extents, so that the answer errs towards checking more, never less.
    static func dataRanges(of descriptor: Int32, length: Int64) -> [Range<Int64>] {
        var ranges: [Range<Int64>] = []
        var offset: Int64 = 0
        while offset < length {
            let start = lseek(descriptor, off_t(offset), seekData)
            if start < 0 {
                // ENXIO: no data at or after `offset`. Anything else: the file system cannot say.
                return errno == ENXIO ? ranges : [0..<length]
            }
            guard start < length else { break }
            let hole = lseek(descriptor, start, seekHole)
            guard hole > start else { return [0..<length] }
            guard ranges.count < maxExtents else { return [0..<length] }
            ranges.append(Int64(start)..<min(Int64(hole), length))
            offset = Int64(hole)
        }
        return ranges
    }
}
