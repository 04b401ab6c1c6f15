/// A run of bytes inside one file: where part of a piece or block lives on disk.
public struct FileSpan: Hashable, Sendable, CustomStringConvertible {
    /// The file, as an index into the torrent's file list.
    public var file: FileIndex
    /// The offset of the first byte inside the file.
    public var fileOffset: Int64
    /// The number of bytes (always positive).
    public var length: Int
    /// True when the file is a BEP 47 pad file: the bytes are zeros, never written nor read from disk.
    public var isPad: Bool

    /// Creates a span.
    public init(file: FileIndex, fileOffset: Int64, length: Int, isPad: Bool = false) {
        self.file = file
        self.fileOffset = fileOffset
        self.length = length
        self.isPad = isPad
    }

    /// `file N @offset+length`, with `pad` for pad files.
    public var description: String { "file \(file.value) @\(fileOffset)+\(length)\(isPad ? " pad" : "")" }
}
