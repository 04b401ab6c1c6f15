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
}
