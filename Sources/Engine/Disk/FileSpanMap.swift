/// Maps ranges of a torrent's byte stream (pieces, blocks) onto the files that hold them, like
/// libtorrent's `file_storage::map_block`.
///
/// Files are laid end to end in list order; zero-length files (empty files, symlinks) occupy no bytes
/// and never appear in a span. Lookups binary-search the start offsets of the non-empty files, so a
/// span query costs O(log files + spans).
public struct FileSpanMap: Sendable {
    /// The piece geometry the map was built for.
    public let layout: PieceLayout
    /// The number of files in the torrent's list, zero-length files included.
    public let fileCount: Int

    /// Stream offset of the first byte of each non-empty file, strictly increasing.
    private let starts: [Int64]
    /// The file index of each entry of ``starts``.
    private let entryFiles: [Int32]
    /// Per file of the torrent's list: its length.
    private let lengths: [Int64]
    /// Per file of the torrent's list: its stream offset.
    private let offsets: [Int64]
    /// Per file of the torrent's list: true for pad files.
    private let pads: [Bool]

    /// Builds the map of `files` (in stream order) for `layout`.
    ///
    /// - Precondition: the file lengths are not negative and add up to `layout.totalLength`.
    public init(files: TorrentFiles, layout: PieceLayout) {
        self.layout = layout
        self.fileCount = files.count
        var starts: [Int64] = []
        var entryFiles: [Int32] = []
        var offsets: [Int64] = []
        var offset: Int64 = 0
        // Field by field: no file (and no path string) is built.
        for index in files.indices {
            let length = files.length(at: index)
            precondition(length >= 0, "file \(index) has a negative length")
            assert(files.offset(at: index) == offset, "file \(index) is not at the running total \(offset)")
            offsets.append(offset)
            if length > 0 {
                starts.append(offset)
                entryFiles.append(Int32(index))
                offset += length
            }
        }
        precondition(offset == layout.totalLength, "files add up to \(offset), layout says \(layout.totalLength)")
        self.starts = starts
        self.entryFiles = entryFiles
        self.offsets = offsets
        self.lengths = files.indices.map { files.length(at: $0) }
        self.pads = files.indices.map { files.isPad(at: $0) }
    }

    /// Builds the map of a parsed torrent.
    public init(_ metainfo: Metainfo) {
        self.init(files: metainfo.files, layout: PieceLayout(metainfo))
    }

    /// The length of `file`.
    public func length(of file: FileIndex) -> Int64 { lengths[file.value] }

    /// The stream offset of the first byte of `file`.
    public func offset(of file: FileIndex) -> Int64 { offsets[file.value] }

    /// True when `file` is a pad file.
    public func isPad(_ file: FileIndex) -> Bool { pads[file.value] }

    /// The spans holding `length` bytes of the stream starting at `offset`, in stream order.
    ///
    /// - Precondition: the range lies inside the stream.
    public func spans(streamOffset offset: Int64, length: Int) -> [FileSpan] {
        precondition(
            offset >= 0 && length >= 0 && offset <= layout.totalLength - Int64(length), "range outside the torrent")
        guard length > 0 else { return [] }
        var spans: [FileSpan] = []
        var entry = self.entry(containing: offset)
        var position = offset
        var remaining = Int64(length)
        while remaining > 0 {
            let file = Int(entryFiles[entry])
            let inFile = position - starts[entry]
            let take = min(remaining, lengths[file] - inFile)
            spans.append(FileSpan(file: FileIndex(file), fileOffset: inFile, length: Int(take), isPad: pads[file]))
            position += take
            remaining -= take
            entry += 1
        }
        return spans
    }

    /// The spans holding the whole of `piece`.
    public func spans(piece: PieceIndex) -> [FileSpan] {
        spans(streamOffset: layout.offset(of: piece), length: layout.length(of: piece))
    }

    /// The spans holding `length` bytes of `piece` starting at `begin` inside the piece.
    ///
    /// - Precondition: the range lies inside the piece.
    public func spans(piece: PieceIndex, begin: Int, length: Int) -> [FileSpan] {
        precondition(layout.isValidRange(piece: piece, begin: begin, length: length), "range outside piece \(piece)")
        return spans(streamOffset: layout.offset(of: piece) + Int64(begin), length: length)
    }

    /// The spans holding the block a request names.
    public func spans(for request: BlockRequest) -> [FileSpan] {
        spans(piece: request.piece, begin: Int(request.begin), length: Int(request.length))
    }

    /// The files `piece` overlaps (non-empty files only, pad files included), in order.
    public func files(in piece: PieceIndex) -> [FileIndex] { spans(piece: piece).map(\.file) }

    /// The first and last piece holding bytes of `file`, or `nil` for a zero-length file.
    public func pieceRange(touching file: FileIndex) -> ClosedRange<PieceIndex>? {
        let length = lengths[file.value]
        guard length > 0 else { return nil }
        let start = offsets[file.value]
        return layout.piece(containing: start)...layout.piece(containing: start + length - 1)
    }

    /// The index in ``starts`` of the non-empty file holding stream byte `offset`.
    private func entry(containing offset: Int64) -> Int {
        // Last entry whose start is <= offset.
        var low = 0
        var high = starts.count
        while high - low > 1 {
            let mid = (low + high) / 2
            if starts[mid] <= offset { low = mid } else { high = mid }
        }
        return low
    }
}
