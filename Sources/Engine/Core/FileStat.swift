/// The size and modification time of one file on disk, as recorded after writing (and checked at start:
/// a file that differs from its record has its pieces rechecked).
public struct FileStat: Hashable, Sendable {
    /// Which file of the torrent.
    public var index: FileIndex
    /// Size in bytes.
    public var size: Int64
    /// Modification time in nanoseconds since 1970, exactly as the file system reports it.
    public var modificationTimeNanoseconds: Int64

    /// Creates a record.
    public init(index: FileIndex, size: Int64, modificationTimeNanoseconds: Int64) {
        self.index = index
        self.size = size
        self.modificationTimeNanoseconds = modificationTimeNanoseconds
    }
}
