import Foundation
import Glibc
import NIOCore
import Testing

@testable import Engine

/// What only the on-disk backend can show: files, folders, links, descriptors and system errors.
@Suite(.timeLimit(.minutes(5)))
struct FileStorageTests {
    @Test func padFilesAreAbsentAndEmptyFilesExist() async throws {
        try await withTemporaryFolder { folder in
            let storage = FileStorage(saveFolder: folder, files: SampleTorrent.files, layout: SampleTorrent.layout)
            try await storage.prepare()
            #expect(fileSize(folder + "/t/empty") == 0)
            #expect(fileSize(folder + "/t/.pad/15536") == nil)
            #expect(fileSize(folder + "/t/.pad") == nil)
            #expect(fileSize(folder + "/t/sub/b.bin") == 40_000)
            #expect(fileSize(folder + "/t/Ünïcødé ✓") == 5)
            await storage.close()
        }
    }

    @Test func writtenBytesLandInTheRightFiles() async throws {
        try await withTemporaryFolder { folder in
            let storage = FileStorage(saveFolder: folder, files: SampleTorrent.files, layout: SampleTorrent.layout)
            try await storage.prepare()
            for piece in storage.layout.pieces {
                try await storage.write(piece: piece, begin: 0, bytes: SampleTorrent.piece(piece))
            }
            try await storage.flush()
            await storage.close()
            for (index, file) in SampleTorrent.files.enumerated() where !file.isPad {
                let data = FileManager.default.contents(atPath: folder + "/" + file.path.joined(separator: "/"))
                #expect(data.map(Array.init) == SampleTorrent.file(index), "\(file.displayPath)")
            }
        }
    }

    /// Write-behind and drop-behind: once written out, a download's pages leave the page cache; the
    /// data stays intact. (tmpfs keeps its pages: there is nothing to write them to.)
    @Test func writtenPagesLeaveThePageCacheOnceWrittenOut() async throws {
        try await withTemporaryFolder { folder in
            guard fileSystemType(of: folder) != "tmpfs" else { return }
            let length = 4 << 20
            let (storage, content) = try await singleFileStorage(in: folder, length: length, pattern: 31)
            for piece in storage.layout.pieces {
                try await storage.write(
                    piece: piece, begin: 0, bytes: Array(content[Self.range(of: piece, in: length)]))
            }
            // Checked before the sync: dirty pages stay until written out, while clean ones may be reclaimed
            // at any moment (some kernels reclaim cold pages proactively), which made this check flaky after it.
            #expect(try residentPages(folder + "/big.bin") == length / Int(getpagesize()), "written and cached")
            try await storage.flush()
            await storage.startWriteback()
            #expect(try residentPages(folder + "/big.bin") == 0, "dropped once written out")
            #expect(try await storage.read(piece: 3, begin: 0, length: 1 << 20) == Array(content[(3 << 20)...]))
            await storage.close()
        }
    }

    /// Whole pieces written from their buffers, page-aligned in the file, go through the page cache like
    /// block writes, and leave it once written out.
    @Test func wholePiecesFromBuffersGoThroughThePageCache() async throws {
        try await withTemporaryFolder { folder in
            guard fileSystemType(of: folder) != "tmpfs" else { return }
            let length = (4 << 20) + 5000
            let (storage, content) = try await singleFileStorage(in: folder, length: length, pattern: 29)
            try await writeFromBuffers(content, to: storage)
            let pages = (length + Int(getpagesize()) - 1) / Int(getpagesize())
            #expect(try residentPages(folder + "/big.bin") == pages, "written and cached")
            try await storage.flush()
            await storage.startWriteback()
            #expect(try residentPages(folder + "/big.bin") == 0, "dropped once written out")
            for piece in storage.layout.pieces {
                #expect(try await storage.read(piece: piece) == Array(content[Self.range(of: piece, in: length)]))
            }
            await storage.close()
        }
    }

    /// On tmpfs (memory is its storage) whole pieces from their buffers are written and read back like
    /// anywhere else.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/shm")))
    func alignedPiecesOnTmpfsReadBack() async throws {
        var template = Array("/dev/shm/btq-disk-XXXXXX".utf8CString)
        let created = try #require(mkdtemp(&template))
        let folder = String(cString: created)
        defer { removeTree(folder) }
        let (storage, content) = try await singleFileStorage(in: folder, length: 3 << 20, pattern: 13)
        try await writeFromBuffers(content, to: storage)
        try await storage.flush()
        await storage.close()
        #expect(FileManager.default.contents(atPath: folder + "/big.bin").map(Array.init) == content)
    }

    /// A prepared storage for one file, big.bin, of `length` bytes (made from `pattern`) in 1 MiB pieces,
    /// and those bytes.
    /// Reading into a reused buffer (the read cache's spare): into its own storage when nothing else
    /// holds it, into a copy when a slice of it is still in use, so a block on its way to a socket keeps
    /// its bytes.
    @Test func aReusedBufferIsReadIntoInPlaceUnlessSomethingElseHoldsIt() async throws {
        try await withTemporaryFolder { folder in
            let mib = 1 << 20
            let (storage, content) = try await singleFileStorage(in: folder, length: 4 * mib, pattern: 13)
            for piece in 0..<4 {
                try await storage.write(
                    piece: PieceIndex(piece), begin: 0, bytes: Array(content[piece * mib..<(piece + 1) * mib]))
            }
            func base(_ buffer: ByteBuffer) -> UInt {
                buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
            }

            let first = try await storage.readBuffer(piece: 0, begin: 0, length: mib, reusing: nil)
            let slice = first.getSlice(at: 4_096, length: 16_384)!
            let second = try await storage.readBuffer(
                piece: 1, begin: 0, length: mib, reusing: ReusableBuffer(first))
            #expect(Array(second.readableBytesView) == Array(content[mib..<2 * mib]))
            #expect(base(second) != base(first), "a buffer still held is not read into")
            #expect(Array(first.readableBytesView) == Array(content[0..<mib]))
            #expect(Array(slice.readableBytesView) == Array(content[4_096..<20_480]))

            var held: ByteBuffer? = try await storage.readBuffer(piece: 2, begin: 0, length: mib, reusing: nil)
            let heldBase = base(held!)
            let third = try await storage.readBuffer(
                piece: 3, begin: 100, length: mib - 100, reusing: ReusableBuffer(held.take()))
            #expect(Array(third.readableBytesView) == Array(content[3 * mib + 100..<4 * mib]))
            #expect(base(third) == heldBase, "a buffer held by nothing else is read into in place")
            await storage.close()
        }
    }

    private func singleFileStorage(
        in folder: String, length: Int, pattern: UInt8
    ) async throws -> (
        FileStorage, [UInt8]
    ) {
        // Page and piece numbers are mixed in, so a page written to the wrong place shows.
        let content = (0..<length).map {
            UInt8(truncatingIfNeeded: $0 &* Int(pattern) &+ ($0 >> 12) &+ ($0 >> 20) &* 37 &+ 7)
        }
        let storage = FileStorage(
            saveFolder: folder, files: makeFiles([("big.bin", Int64(length))]),
            layout: PieceLayout(pieceLength: 1 << 20, totalLength: Int64(length)))
        try await storage.prepare()
        return (storage, content)
    }

    /// The bytes of `piece` (1 MiB pieces) in a stream of `length` bytes.
    private static func range(of piece: PieceIndex, in length: Int) -> Range<Int> {
        piece.value << 20..<min((piece.value + 1) << 20, length)
    }

    /// Writes every piece of `content` from its own ``PieceBuffer``, as downloaded pieces are written.
    private func writeFromBuffers(_ content: [UInt8], to storage: FileStorage) async throws {
        for piece in storage.layout.pieces {
            let bytes = content[Self.range(of: piece, in: content.count)]
            let buffer = PieceBuffer(count: bytes.count)
            bytes.withUnsafeBytes { buffer.bytes.copyMemory(from: $0) }
            try await storage.write(piece: piece, from: buffer)
        }
    }

    /// The type of the file system `path` is on (the longest mount point in /proc/self/mounts above it).
    func fileSystemType(of path: String) -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
        let entries = mounts.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        return
            entries
            .filter { $0.count > 2 && (path == $0[1] || path.hasPrefix($0[1] == "/" ? "/" : $0[1] + "/")) }
            .max { $0[1].count < $1[1].count }?[2]
    }

    /// How many of the file's pages are in the page cache (`mincore` over a mapping of it).
    func residentPages(_ path: String) throws -> Int {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        defer { close(descriptor) }
        let length = Int(fileSize(path) ?? 0)
        guard let mapping = mmap(nil, length, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else {
            throw POSIXError(.EIO)
        }
        defer { munmap(mapping, length) }
        let pageSize = Int(getpagesize())
        var vector = [UInt8](repeating: 0, count: (length + pageSize - 1) / pageSize)
        guard mincore(mapping, length, &vector) == 0 else { throw POSIXError(.EIO) }
        return vector.filter { $0 & 1 != 0 }.count
    }

    @Test func prepareTruncatesOrExtendsToTheExactLength() async throws {
        try await withTemporaryFolder { folder in
            let files = makeFiles([("x/long", 100), ("x/short", 100_000)])
            try FileManager.default.createDirectory(atPath: folder + "/x", withIntermediateDirectories: true)
            #expect(
                FileManager.default.createFile(atPath: folder + "/x/long", contents: Data(repeating: 7, count: 500)))
            let storage = FileStorage(
                saveFolder: folder, files: files, layout: PieceLayout(pieceLength: 16_384, totalLength: 100_100))
            try await storage.prepare()
            #expect(fileSize(folder + "/x/long") == 100)
            #expect(fileSize(folder + "/x/short") == 100_000)
            #expect(try await storage.read(piece: 0, begin: 0, length: 100) == Array(repeating: 7, count: 100))
            await storage.close()
        }
    }

    @Test func symlinksInsideTheFolderAreCreatedOthersSkipped() async throws {
        try await withTemporaryFolder { folder in
            let files = makeFiles(
                [("t/data/real", 10), ("t/links/inside", 0), ("t/links/escape", 0), ("t/links/self", 0)],
                links: [1: "t/data/real", 2: "../etc/passwd", 3: "t/links/self"])
            let storage = FileStorage(
                saveFolder: folder, files: files, layout: PieceLayout(pieceLength: 16_384, totalLength: 10))
            try await storage.prepare()
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: folder + "/t/links/inside")
            #expect(target == "../data/real")
            #expect(FileManager.default.contents(atPath: folder + "/t/links/inside")?.count == 10)
            #expect(fileSize(folder + "/t/links/escape") == nil)
            #expect(fileSize(folder + "/t/links/self") == nil)
            await storage.close()
        }
    }

    @Test func aSymlinkedFolderCannotLeadOutside() async throws {
        try await withTemporaryFolder { root in
            let outside = root + "/outside"
            let folder = root + "/save"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: folder + "/t", withDestinationPath: outside)
            let storage = FileStorage(saveFolder: folder, files: SampleTorrent.files, layout: SampleTorrent.layout)
            let error = await #expect(throws: StorageError.self) { try await storage.prepare() }
            #expect(error?.reason == .outsideSaveFolder)
            // Files created in the real folder behind the link are not used either.
            #expect(FileManager.default.createFile(atPath: outside + "/a.txt", contents: Data(count: 10_000)))
            let writeError = await #expect(throws: StorageError.self) {
                try await storage.write(piece: 0, begin: 0, bytes: [1])
            }
            #expect(writeError?.reason == .outsideSaveFolder)
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["a.txt"])
            await storage.close()
        }
    }

    @Test(arguments: [
        (["a", "b"], true),
        (["a"], true),
        ([String](), false),
        (["a", ".."], false),
        (["..", "a"], false),
        (["."], false),
        (["a", ""], false),
        (["a/b"], false),
        (["a\u{0}b"], false),
        (["..."], true),
    ])
    func pathComponentsAreChecked(_ path: [String], safe: Bool) {
        #expect(FileStorage.isSafe(path) == safe)
    }

    @Test func memoryStorageRefusesUnsafePaths() async throws {
        let storage = MemoryStorage(
            files: [TorrentFile(path: ["..", "escape"], length: 10, offset: 0)],
            layout: PieceLayout(pieceLength: 16_384, totalLength: 10))
        let error = await #expect(throws: StorageError.self) { try await storage.prepare() }
        #expect(error?.reason == .outsideSaveFolder)
    }

    @Test func openDescriptorsStayBounded() async throws {
        try await withTemporaryFolder { folder in
            let files = makeFiles((0..<20).map { ("many/f\($0)", 1_000) })
            let layout = PieceLayout(pieceLength: 16_384, totalLength: 20_000)
            let storage = FileStorage(saveFolder: folder, files: files, layout: layout, maxOpenFiles: 3)
            try await storage.prepare()
            let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0) }
            try await storage.write(piece: 0, begin: 0, bytes: Array(bytes[..<16_384]))
            try await storage.write(piece: 1, begin: 0, bytes: Array(bytes[16_384...]))
            #expect(storage.openFileCount <= 3)
            try await storage.flush()
            #expect(try await storage.read(piece: 0) == Array(bytes[..<16_384]))
            #expect(storage.openFileCount <= 3)
            await storage.close()
            #expect(storage.openFileCount == 0)
        }
    }

    /// With a process-wide budget a storage keeps as many files open as the budget allows: a torrent of
    /// more files than the default 64, written in random piece order, does not reopen its files.
    @Test func aStorageKeepsAsManyFilesOpenAsTheBudgetAllows() async throws {
        try await withTemporaryFolder { folder in
            let files = makeFiles((0..<80).map { ("many/f\($0)", 1_000) })
            let layout = PieceLayout(pieceLength: 16_384, totalLength: 80_000)
            let bytes = (0..<80_000).map { UInt8(truncatingIfNeeded: $0) }
            for (limit, kept) in [(512, 80), (20, 20)] {
                let storage = FileStorage(
                    saveFolder: folder, files: files, layout: layout, openFiles: OpenFileBudget(limit: limit))
                try await storage.prepare()
                for piece in layout.pieces {
                    try await storage.write(piece: piece, begin: 0, bytes: Array(bytes[range(of: piece, in: layout)]))
                }
                #expect(storage.openFileCount == kept)
                #expect(try await storage.read(piece: 4) == Array(bytes[range(of: 4, in: layout)]))
                await storage.close()
            }
            let unbudgeted = FileStorage(saveFolder: folder, files: files, layout: layout)
            for piece in layout.pieces { _ = try await unbudgeted.read(piece: piece) }
            #expect(unbudgeted.openFileCount == 64)
            await unbudgeted.close()
        }
    }

    private func range(of piece: PieceIndex, in layout: PieceLayout) -> Range<Int> {
        let start = Int(layout.offset(of: piece))
        return start..<start + layout.length(of: piece)
    }

    /// The journal's file stats come from the descriptor written to while it is open: a file put in
    /// its place behind btq's back does not vouch for btq's writes. A file no longer open is looked up
    /// by its path.
    @Test func writtenFileStatsDescribeTheFileWrittenTo() async throws {
        try await withTemporaryFolder { folder in
            let files = makeFiles([("d/a", 100), ("d/b", 100)])
            let layout = PieceLayout(pieceLength: 16_384, totalLength: 200)
            let storage = FileStorage(saveFolder: folder, files: files, layout: layout, maxOpenFiles: 1)
            try await storage.prepare()
            try await storage.write(piece: 0, begin: 0, bytes: [UInt8](repeating: 7, count: 200))
            // File a's descriptor was closed for b's; both are replaced by longer files.
            for name in ["a", "b"] {
                let replacement = folder + "/d/\(name).new"
                #expect(FileManager.default.createFile(atPath: replacement, contents: Data(count: 300)))
                #expect(rename(replacement, folder + "/d/\(name)") == 0)
            }
            let stats = try await storage.takeWrittenFileStats()
            #expect(stats.map(\.index) == [0, 1])
            #expect(stats.map(\.size) == [300, 100], "a by its path (closed), b through its open descriptor")
            #expect(try await storage.takeWrittenFileStats().isEmpty)
            await storage.close()
        }
    }

    @Test(arguments: [
        (ENOSPC, StorageError.Reason.diskFull), (EFBIG, .diskFull), (EDQUOT, .diskFull),
        (EACCES, .permissionDenied), (EPERM, .permissionDenied), (EROFS, .permissionDenied),
        (ENOENT, .missingFile), (ENOTDIR, .missingFile), (EIO, .ioFailure), (EBADF, .ioFailure),
    ])
    func errnoIsClassified(_ code: Int32, _ reason: StorageError.Reason) {
        let error = StorageError(errno: code, operation: .write, path: "/x/y")
        #expect(error.reason == reason)
        #expect(error.errno == code)
        #expect(error.description.hasPrefix("\(reason): write /x/y ("))
    }

    /// Root ignores file modes, so the writes run on a private I/O thread whose file-system user id
    /// is dropped to `nobody` (per thread on Linux); as an ordinary user the modes apply anyway.
    @Test func writingIntoAReadOnlyFolderIsAPermissionError() async throws {
        try await withTemporaryFolder { folder in
            try await withBlockingPool(threads: 1) { (pool: NIOBlockingExecutor) async throws in
                try await pool.run { dropFileSystemUser() }
                let files = makeFiles([("ro/a", 100), ("ro/new/b", 100)])
                let layout = PieceLayout(pieceLength: 16_384, totalLength: 200)
                // Created as ourselves, then made read-only.
                let owner = FileStorage(
                    saveFolder: folder, files: TorrentFiles(files.prefix(1)),
                    layout: PieceLayout(pieceLength: 16_384, totalLength: 100))
                try await owner.prepare()
                await owner.close()
                chmod(folder + "/ro/a", 0o444)
                chmod(folder + "/ro", 0o555)

                let storage = FileStorage(saveFolder: folder, files: files, layout: layout, executor: pool)
                let prepareError = await #expect(throws: StorageError.self) { try await storage.prepare() }
                #expect(prepareError?.reason == .permissionDenied)
                #expect(
                    prepareError?.path.hasSuffix("/ro/a") == true || prepareError?.path.hasSuffix("/ro/new") == true)
                let writeError = await #expect(throws: StorageError.self) {
                    try await storage.write(piece: 0, begin: 0, bytes: [1, 2, 3])
                }
                #expect(writeError?.reason == .permissionDenied)
                #expect(writeError?.operation == .open)
                #expect(writeError?.path == folder + "/ro/a")
                // Reading is still allowed: the file opens read-only.
                #expect(try await storage.read(piece: 0, begin: 0, length: 3) == [0, 0, 0])
                await storage.close()
            }
        }
    }

    @Test func aFullDiskIsReported() async throws {
        try await withTemporaryFolder { folder in
            let files = makeFiles([("full/a", 100)])
            // The device fails the write with ENOSPC (a /dev/full node in the file's place is no longer opened:
            // only regular files are).
            let storage = FileStorage(
                saveFolder: folder, files: files, layout: PieceLayout(pieceLength: 16_384, totalLength: 100),
                faults: FileStorageFaults(beforeWrite: { _ in ENOSPC }))
            try await storage.prepare()
            let error = await #expect(throws: StorageError.self) {
                try await storage.write(piece: 0, begin: 0, bytes: [1])
            }
            #expect(error?.reason == .diskFull)
            #expect(error?.operation == .write)
            #expect(error?.path == folder + "/full/a")
            await storage.close()
        }
    }

    @Test func aDeviceNodeInAFilesPlaceIsNotOpened() async throws {
        try await withTemporaryFolder { folder in
            let files = makeFiles([("full/a", 100)])
            let storage = FileStorage(
                saveFolder: folder, files: files, layout: PieceLayout(pieceLength: 16_384, totalLength: 100))
            try await storage.prepare()
            // A /dev/full node (character device 1:7). Needs CAP_MKNOD; without it there is nothing to observe.
            unlink(folder + "/full/a")
            guard mknod(folder + "/full/a", S_IFCHR | 0o666, dev_t(0x107)) == 0 else { return }
            let error = await #expect(throws: StorageError.self) {
                try await storage.write(piece: 0, begin: 0, bytes: [1])
            }
            #expect(error?.reason == .notRegularFile)
            #expect(error?.path == folder + "/full/a")
            await storage.close()
        }
    }
}

/// Sets the calling thread's file-system user id to `nobody` (65534); Linux applies it per thread.
private func dropFileSystemUser() {
    typealias SetFSUID = @convention(c) (UInt32) -> Int32
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "setfsuid") else { return }
    _ = unsafeBitCast(symbol, to: SetFSUID.self)(65_534)
}
