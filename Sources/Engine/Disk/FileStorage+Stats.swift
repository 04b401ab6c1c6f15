import Glibc

extension FileStorage {
    /// The size and modification time of each of the torrent's regular files that exists on disk (pad
    /// files, symlinks and unsafe paths are left out, and nothing is looked up outside the download
    /// folder), for the check at start.
    public func currentFileStats() async -> [FileIndex: FileStat]? {
        let indices = files.indices.map { FileIndex($0) }
        return await (try? executor.run { self.statSync(indices) }) ?? [:]
    }

    /// The sizes and modification times of the files written since the previous call, taken after
    /// those writes: what the journal records, so that the next start can tell btq's own writes from
    /// changes made behind its back. A file still open is asked through its descriptor: the status of the
    /// file written to, whatever its path names now.
    public func takeWrittenFileStats() async throws -> [FileStat] {
        let written = cache.take(.unjournaled)
        guard !written.isEmpty else { return [] }
        let indices = written.sorted().map { FileIndex($0) }
        let stats = try await executor.run { self.statSync(indices) }
        return indices.compactMap { stats[$0] }
    }

    /// True when `file` is a regular file inside the download folder with at least one allocated block
    /// (see ``FileProbe``).
    public func hasAllocatedData(_ file: FileIndex) -> Bool {
        guard paths[file.value] != nil else { return false }
        return FileProbe.hasAllocatedData(folder.status(files[file.value].path))
    }

    /// The byte ranges of `file` that hold data (see ``FileProbe/dataRanges(of:length:)``): empty when it
    /// is not a regular file inside the download folder or holds no data.
    public func dataRanges(_ file: FileIndex) -> [Range<Int64>] {
        let entry = files[file.value]
        guard paths[file.value] != nil, entry.length > 0,
            let descriptor = try? folder.openFile(entry.path, flags: O_RDONLY, operation: .check)
        else { return [] }
        defer { Glibc.close(descriptor) }
        return FileProbe.dataRanges(of: descriptor, length: entry.length)
    }

    /// The status of `file` through its open descriptor, if the cache holds one: the file btq wrote to,
    /// without resolving its path again.
    private func openFileStatus(_ file: FileIndex) -> stat? {
        let status = cache.withOpenDescriptor(file: file.value) { descriptor -> stat? in
            var info = stat()
            return fstat(descriptor, &info) == 0 ? info : nil
        }
        return status ?? nil
    }

    private func statSync(_ indices: [FileIndex]) -> [FileIndex: FileStat] {
        var stats: [FileIndex: FileStat] = [:]
        for index in indices {
            let file = files[index.value]
            guard !file.isPad, file.symlinkTarget == nil, paths[index.value] != nil,
                let info = openFileStatus(index) ?? folder.status(file.path), (info.st_mode & S_IFMT) == S_IFREG
            else { continue }
            let nanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            stats[index] = FileStat(index: index, size: Int64(info.st_size), modificationTimeNanoseconds: nanoseconds)
        }
        return stats
    }
}
