import Crypto
import Foundation
import Glibc
import NIOCore
import Synchronization

/// ``PieceStorage`` over the torrent's files in a download folder, with `pread`/`pwrite`.
///
/// No memory mapping: file pages stay in the kernel's page cache, not in the process's resident set.
/// Every system call runs on a ``BlockingExecutor`` (by default NIO's blocking pool, ``NIOBlockingExecutor``), never
/// on the caller's thread. Open files are kept in a bounded LRU cache: as many as the process-wide
/// ``OpenFileBudget`` allows, or 64 without one (with 64 under the budget too, a download of 192 files,
/// its pieces in random order, opened each file about seven times). Paths are
/// checked twice: each component when the storage is created, and when a file is opened or created it is
/// resolved beneath the download folder (``DownloadFolder``), so neither a symlinked folder nor a link
/// in a file's place can lead outside it, and only regular files are used.
public final class FileStorage: PieceStorage {
    /// The piece geometry.
    public let layout: PieceLayout
    /// The download folder: the torrent's paths are joined under it.
    public let saveFolder: String
    /// The piece-to-file map.
    public let map: FileSpanMap
    /// The download folder, through which every file is opened, created or checked.
    public let folder: DownloadFolder

    let files: TorrentFiles
    /// The absolute path of each file, or `nil` when its path is unsafe (then every use throws).
    let paths: [String?]
    let cache: FileDescriptorCache
    let executor: any BlockingExecutor
    /// Serializes this storage's writes. Two threads writing one file contend for its inode lock, and
    /// the kernel spins for it: on a 2-core machine that spinning took 8% of btq's CPU time during a
    /// 1 GiB download. Waiting here sleeps instead, and the other pool threads go on hashing.
    let writeLock = NSLock()
    /// The first sync that failed. Linux reports a failed write-back once, to the next `fdatasync`, and
    /// may drop the pages it could not write; later syncs then succeed although the data is gone. So a
    /// failure is kept: every later ``flush()`` throws it, and no checkpoint vouches for this storage's
    /// writes again (the session stops the torrent; the next start rechecks what was not durable).
    let syncFailure = Mutex<StorageError?>(nil)
    /// Injected faults (tests only).
    let faults: FileStorageFaults?

    /// The size of the buffer ``hashPiece(_:)`` reads through.
    static let hashChunk = 256 * 1024

    /// Creates a storage for `files` (stream order, pad files included) under `saveFolder`.
    ///
    /// - Parameters:
    ///   - saveFolder: the download folder; relative paths are taken from the current directory.
    ///   - maxOpenFiles: how many descriptors stay open when idle (by default the budget's limit, or 64).
    ///   - openFiles: the process-wide bound on idle descriptors over every storage, if any.
    ///   - executor: where the blocking calls run.
    package convenience init(
        saveFolder: String, files: TorrentFiles, layout: PieceLayout, maxOpenFiles: Int? = nil,
        openFiles: OpenFileBudget? = nil, executor: any BlockingExecutor = NIOBlockingExecutor()
    ) {
        self.init(
            saveFolder: saveFolder, files: files, layout: layout, maxOpenFiles: maxOpenFiles, openFiles: openFiles,
            executor: executor, faults: nil)
    }

    /// Creates a storage with injected faults (tests).
    init(
        saveFolder: String, files: TorrentFiles, layout: PieceLayout, maxOpenFiles: Int? = nil,
        openFiles: OpenFileBudget? = nil, executor: any BlockingExecutor = NIOBlockingExecutor(),
        faults: FileStorageFaults?
    ) {
        self.faults = faults
        let folder = Self.absolute(saveFolder)
        self.saveFolder = folder
        self.folder = DownloadFolder(path: folder)
        self.layout = layout
        self.files = files
        self.map = FileSpanMap(files: files, layout: layout)
        self.paths = files.map { file in
            let safe = Self.isSafe(file.path)
            assert(safe, "unsafe path \(file.path) reached storage; the metainfo parser must sanitize it")
            return safe ? folder + "/" + file.relativePath : nil
        }
        self.cache = FileDescriptorCache(capacity: maxOpenFiles ?? openFiles?.limit ?? 64, budget: openFiles)
        self.executor = executor
    }

    /// Creates a storage for a parsed torrent under `saveFolder`.
    package convenience init(
        saveFolder: String, metainfo: Metainfo, maxOpenFiles: Int? = nil, openFiles: OpenFileBudget? = nil,
        executor: any BlockingExecutor = NIOBlockingExecutor()
    ) {
        self.init(
            saveFolder: saveFolder, files: metainfo.files, layout: PieceLayout(metainfo), maxOpenFiles: maxOpenFiles,
            openFiles: openFiles, executor: executor)
    }

    /// The absolute path of `file` (`nil` for an unsafe path).
    public func path(of file: FileIndex) -> String? { paths[file.value] }

    /// Creates the folders and files (see ``PieceStorage/prepare()``); symlinks are created when their
    /// target lies inside the download folder and skipped otherwise.
    public func prepare() async throws {
        try await executor.run { try self.prepareSync() }
    }

    /// Writes `bytes` at `begin` of `piece`, across file boundaries; pad-file bytes are skipped.
    public func write(piece: PieceIndex, begin: Int, bytes: [UInt8]) async throws {
        let spans = map.spans(piece: piece, begin: begin, length: bytes.count)
        try await executor.run { try bytes.withUnsafeBytes { try self.writeSpans(spans, from: $0) } }
    }

    /// Writes a whole piece from `buffer` (no intermediate copy).
    public func write(piece: PieceIndex, from buffer: PieceBuffer) async throws {
        precondition(buffer.count == layout.length(of: piece), "a buffer of \(buffer.count) bytes for \(piece)")
        let spans = map.spans(piece: piece, begin: 0, length: buffer.count)
        try await executor.run { try self.writeSpans(spans, from: buffer.readable) }
    }

    /// Hashes and, when it matches, writes a whole piece in one job on the storage's threads.
    public func writeIfVerified(piece: PieceIndex, from buffer: PieceBuffer, expected: [UInt8]) async throws -> Bool {
        precondition(buffer.count == layout.length(of: piece), "a buffer of \(buffer.count) bytes for \(piece)")
        let spans = map.spans(piece: piece, begin: 0, length: buffer.count)
        return try await executor.run {
            guard PieceDigest.sha1(of: buffer.readable).matches(expected) else { return false }
            try self.writeSpans(spans, from: buffer.readable)
            return true
        }
    }

    /// Writes `buffer` over `spans`, one writer at a time.
    private func writeSpans(_ spans: [FileSpan], from buffer: UnsafeRawBufferPointer) throws {
        writeLock.lock()
        defer { writeLock.unlock() }
        var position = 0
        for span in spans {
            defer { position += span.length }
            if span.isPad { continue }
            try writeRun(
                file: span.file, [UnsafeRawBufferPointer(rebasing: buffer[position..<position + span.length])],
                at: span.fileOffset)
        }
    }

    /// Writes `chunks`, back to back in `file` from `offset`, through the page cache (see
    /// ``POSIXFile/writeChunk`` for the size of each call). Called with ``writeLock`` held.
    ///
    /// Nothing bypasses the page cache. `O_DIRECT` writes of whole pieces, one at a time under the lock,
    /// left the device idle between them and each waited for it: measured side by side on 1 GiB
    /// (`download_bench.sh`, medians of 3 on a quiet machine) they took 4.20 s against 2.50 s through
    /// the cache with 256 KiB pieces, 3.67 s against 3.01 s with 4 MiB pieces, and slower at every
    /// size; the cache's write-behind (``startWriteback()``) keeps the device busy while the network is.
    func writeRun(file: FileIndex, _ chunks: [UnsafeRawBufferPointer], at offset: Int64) throws {
        try withDescriptor(file, writable: true) { descriptor in
            if let code = faults?.beforeWrite?(file) { throw self.error(code, .write, file) }
            var position = offset
            for chunk in chunks {
                if let code = POSIXFile.writeAll(descriptor, chunk, at: position) {
                    throw self.error(code, .write, file)
                }
                position += Int64(chunk.count)
            }
        }
    }

    /// Reads `length` bytes at `begin` of `piece`; pad-file bytes read as zeros.
    public func read(piece: PieceIndex, begin: Int, length: Int) async throws -> [UInt8] {
        let spans = map.spans(piece: piece, begin: begin, length: length)
        return try await executor.run {
            try [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
                let raw = UnsafeMutableRawBufferPointer(buffer)
                var position = 0
                for span in spans {
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: raw[position..<position + span.length])
                    try self.readSpan(span, into: chunk)
                    position += span.length
                }
                initialized = length
            }
        }
    }

    /// Reads `length` bytes at `begin` of `piece` straight into `reusing`'s buffer or a new one (an
    /// upload's bytes go from it to the socket uncopied); pad-file bytes read as zeros.
    public func readBuffer(
        piece: PieceIndex, begin: Int, length: Int, reusing: ReusableBuffer?
    ) async throws -> ByteBuffer {
        let spans = map.spans(piece: piece, begin: begin, length: length)
        return try await executor.run {
            var buffer = reusing?.take() ?? ByteBufferAllocator().buffer(capacity: length)
            buffer.clear()
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
                var position = 0
                for span in spans {
                    try self.readSpan(
                        span, into: UnsafeMutableRawBufferPointer(rebasing: raw[position..<position + span.length]))
                    position += span.length
                }
                return length
            }
            return buffer
        }
    }

    /// Hashes `piece` from disk through a 256 KiB buffer on the executor.
    public func hashPiece(_ piece: PieceIndex) async throws -> PieceDigest {
        let spans = map.spans(piece: piece)
        let chunkSize = min(Self.hashChunk, layout.pieceLength)
        return try await executor.run {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
            defer { buffer.deallocate() }
            var hasher = Insecure.SHA1()
            for span in spans {
                var done = 0
                while done < span.length {
                    let count = min(chunkSize, span.length - done)
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                    let part = FileSpan(
                        file: span.file, fileOffset: span.fileOffset + Int64(done), length: count, isPad: span.isPad)
                    try self.readSpan(part, into: chunk)
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(chunk))
                    done += count
                }
            }
            return PieceDigest(hasher.finalize())
        }
    }

    /// `fdatasync`s every file written since the last flush: every write that finished before this call
    /// is durable when it returns. After a failed sync it throws that failure for ever (see
    /// ``syncFailure``).
    public func flush() async throws {
        if let failure = syncFailure.withLock({ $0 }) { throw failure }
        let dirty = cache.take(.unsynced)
        guard !dirty.isEmpty else { return }
        try await executor.run {
            for file in dirty.sorted() {
                do {
                    try self.withDescriptor(FileIndex(file), writable: false) { descriptor in
                        let code =
                            self.faults?.sync?(FileIndex(file), descriptor)
                            ?? (fdatasync(descriptor) == 0 ? 0 : errno)
                        if code != 0 { throw self.error(code, .sync, FileIndex(file)) }
                    }
                } catch let failure as StorageError {
                    self.syncFailure.withLock { $0 = $0 ?? failure }
                    throw failure
                }
            }
        }
    }

    /// Makes the next ``flush()`` sync the files of `pieces` though this storage did not write them.
    public func requireSync(of pieces: [PieceIndex]) async {
        var files = Set<Int>()
        for piece in pieces {
            for span in map.spans(piece: piece) where !span.isPad { files.insert(span.file.value) }
        }
        cache.mark(files, in: .unsynced)
    }

    /// Write-behind and drop-behind (``POSIXFile/writeBehind(_:)``) for each file written since the
    /// last call.
    public func startWriteback() async {
        let files = cache.take(.unscheduled)
        guard !files.isEmpty else { return }
        _ = try? await executor.run {
            for file in files.sorted() {
                _ = try? self.withDescriptor(FileIndex(file), writable: false) { descriptor in
                    POSIXFile.writeBehind(descriptor)
                }
            }
        }
    }

    /// Closes all open files; in-flight operations finish first.
    public func close() async {
        cache.closeAll()
    }

    /// The number of descriptors open right now (for tests and diagnostics).
    public var openFileCount: Int { cache.openCount }

    // MARK: - Helpers used on executor threads

    func readSpan(_ span: FileSpan, into buffer: UnsafeMutableRawBufferPointer) throws {
        if span.isPad {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            return
        }
        try withDescriptor(span.file, writable: false) { descriptor in
            switch POSIXFile.readAll(descriptor, buffer, at: span.fileOffset) {
            case .complete: return
            case .endOfFile:
                throw StorageError(reason: .unexpectedEndOfFile, operation: .read, path: displayPath(span.file))
            case .failure(let code): throw error(code, .read, span.file)
            }
        }
    }

    func withDescriptor<R>(_ file: FileIndex, writable: Bool, _ body: (Int32) throws -> R) throws -> R {
        try cache.withDescriptor(
            file: file.value, writable: writable,
            closedError: StorageError(reason: .closed, operation: .open, path: displayPath(file)),
            open: { try self.openFile(file, writable: $0) }, body: body)
    }

    func error(_ code: Int32, _ operation: StorageError.Operation, _ file: FileIndex) -> StorageError {
        StorageError(errno: code, operation: operation, path: displayPath(file))
    }

    func displayPath(_ file: FileIndex) -> String {
        paths[file.value] ?? saveFolder + "/" + files[file.value].relativePath
    }
}
