/// One HTTP range request's worth of a torrent's bytes: a stretch of one file.
public struct WebSeedSpan: Hashable, Sendable {
    /// The file (its index in the torrent's files).
    public var file: Int
    /// The first byte asked for, within the file.
    public var fileOffset: Int64
    /// How many bytes.
    public var length: Int
    /// Where the stretch starts in the torrent's byte stream.
    public var streamOffset: Int64

    /// A stretch of `length` bytes of `file` from `fileOffset`, at `streamOffset` in the stream.
    public init(file: Int, fileOffset: Int64, length: Int, streamOffset: Int64) {
        self.file = file
        self.fileOffset = fileOffset
        self.length = length
        self.streamOffset = streamOffset
    }

    /// The `Range` header value: `bytes=first-last`.
    public var rangeHeader: String { "bytes=\(fileOffset)-\(fileOffset + Int64(length) - 1)" }

    /// The stretches of `range` (of the torrent's byte stream), one per file it crosses, in stream
    /// order. Pad files (BEP 47) and empty files give none: a pad's bytes are zeros, never asked for.
    /// Costs a binary search plus the files crossed.
    public static func spans(of range: Range<Int64>, files: TorrentFiles) -> [WebSeedSpan] {
        guard !range.isEmpty else { return [] }
        // The first file that ends after the range's start.
        var low = 0
        var high = files.count
        while low < high {
            let middle = (low + high) / 2
            if files.offset(at: middle) + files.length(at: middle) <= range.lowerBound {
                low = middle + 1
            } else {
                high = middle
            }
        }
        var spans: [WebSeedSpan] = []
        var index = low
        while index < files.count, files.offset(at: index) < range.upperBound {
            let start = files.offset(at: index)
            let end = start + files.length(at: index)
            if !files.isPad(at: index), end > start {
                let from = max(start, range.lowerBound)
                let to = min(end, range.upperBound)
                if to > from {
                    spans.append(
                        WebSeedSpan(file: index, fileOffset: from - start, length: Int(to - from), streamOffset: from))
                }
            }
            index += 1
        }
        return spans
    }
}
