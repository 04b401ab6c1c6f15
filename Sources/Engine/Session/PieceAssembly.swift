import NIOCore

/// The blocks of one piece gathered in memory until the piece is whole, so it is hashed straight from
/// memory and written with one call, instead of a write per block and a read back to hash.
struct PieceAssembly {
    private(set) var bytes: [UInt8]
    private(set) var blocksReceived = 0
    let blockCount: Int

    /// Starts with `buffer` (a recycled one of the piece's length, or a fresh one).
    init(buffer: [UInt8], blockCount: Int) {
        bytes = buffer
        self.blockCount = blockCount
    }

    var isComplete: Bool { blocksReceived == blockCount }

    /// Copies a block in; the caller has checked that the request lies inside the piece and was not
    /// received before.
    mutating func insert(_ request: BlockRequest, _ block: ByteBuffer) {
        let begin = Int(request.begin)
        precondition(begin + block.readableBytes <= bytes.count, "block beyond its piece")
        bytes.withUnsafeMutableBytes { destination in
            block.withUnsafeReadableBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: destination[begin..<begin + source.count])
                    .copyMemory(from: source)
            }
        }
        blocksReceived += 1
    }

    /// Hands the bytes over (the assembly is spent).
    consuming func take() -> [UInt8] { bytes }
}
