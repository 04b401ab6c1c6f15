import Crypto

/// ``PieceStorage`` kept in memory, file by file: for tests and for torrents small enough not to need
/// a disk (metadata exchange, benchmarks of the protocol alone).
///
/// It follows ``FileStorage``'s rules: files exist only after ``prepare()``, pad files never exist,
/// reads of pad bytes return zeros, and unsafe paths are refused.
public actor MemoryStorage: PieceStorage {
    /// The piece geometry.
    public nonisolated let layout: PieceLayout
    /// The piece-to-file map.
    public nonisolated let map: FileSpanMap

    private let files: TorrentFiles
    private var contents: [Int: [UInt8]] = [:]
    private var isClosed = false
    private var unflushedWrites = 0

    /// Creates an empty storage for `files` (stream order, pad files included).
    public init(files: TorrentFiles, layout: PieceLayout) {
        self.files = files
        self.layout = layout
        self.map = FileSpanMap(files: files, layout: layout)
    }

    /// Creates an empty storage for a parsed torrent.
    public init(metainfo: Metainfo) {
        self.init(files: metainfo.files, layout: PieceLayout(metainfo))
    }

    /// The bytes of `file`, or `nil` when it was not created (pad files, symlinks, before prepare).
    public func contents(of file: FileIndex) -> [UInt8]? { contents[file.value] }

    /// The number of writes since the last ``flush()``.
    public var pendingWrites: Int { unflushedWrites }

    /// Creates every regular file, zero-filled, with its length; keeps existing contents.
    public func prepare() throws {
        try checkOpen(.createFile)
        for (index, file) in files.enumerated() where !file.isPad && !file.attributes.contains(.symlink) {
            guard FileStorage.isSafe(file.path) else {
                throw StorageError(reason: .outsideSaveFolder, operation: .createFile, path: file.displayPath)
            }
            var bytes = contents[index] ?? []
            if bytes.count != Int(file.length) {
                bytes = Array(bytes.prefix(Int(file.length)))
                bytes += repeatElement(0, count: Int(file.length) - bytes.count)
            }
            contents[index] = bytes
        }
    }

    /// Writes `bytes` at `begin` of `piece`; pad bytes are skipped.
    public func write(piece: PieceIndex, begin: Int, bytes: [UInt8]) throws {
        try checkOpen(.write)
        var position = 0
        for span in map.spans(piece: piece, begin: begin, length: bytes.count) {
            defer { position += span.length }
            if span.isPad { continue }
            guard contents[span.file.value] != nil else {
                throw StorageError(reason: .missingFile, operation: .open, path: files[span.file.value].displayPath)
            }
            let start = Int(span.fileOffset)
            contents[span.file.value]!.replaceSubrange(
                start..<start + span.length, with: bytes[position..<position + span.length])
        }
        unflushedWrites += 1
    }

    /// Reads `length` bytes at `begin` of `piece`; pad bytes read as zeros.
    public func read(piece: PieceIndex, begin: Int, length: Int) throws -> [UInt8] {
        try checkOpen(.read)
        var result: [UInt8] = []
        result.reserveCapacity(length)
        for span in map.spans(piece: piece, begin: begin, length: length) {
            if span.isPad {
                result += repeatElement(0, count: span.length)
                continue
            }
            guard let bytes = contents[span.file.value] else {
                throw StorageError(reason: .missingFile, operation: .open, path: files[span.file.value].displayPath)
            }
            let start = Int(span.fileOffset)
            result += bytes[start..<start + span.length]
        }
        return result
    }

    /// The SHA-1 of `piece` as stored.
    public func hashPiece(_ piece: PieceIndex) throws -> PieceDigest {
        PieceDigest.sha1(of: try read(piece: piece, begin: 0, length: layout.length(of: piece)))
    }

    /// Counts nothing more to flush.
    public func flush() throws {
        try checkOpen(.sync)
        unflushedWrites = 0
    }

    /// Refuses later operations; the contents stay readable through ``contents(of:)``.
    public func close() {
        isClosed = true
    }

    private func checkOpen(_ operation: StorageError.Operation) throws {
        if isClosed { throw StorageError(reason: .closed, operation: operation, path: "") }
    }
}
