import NIOCore

/// The blocks of one piece gathered in memory until the piece is whole, so it is hashed straight from
/// memory and written with one call, instead of a write per block and a read back to hash.
///
/// A piece that stays unfinished for longer than a journal interval has its received blocks written
/// out early (``takeBlocksToFlush(before:)``), so that the progress journal can record them: a crash
/// then loses only the blocks of the last interval or two, never a slow piece's whole history.
struct PieceAssembly {
    /// The piece's memory (the assembly is its only user until ``take()``).
    let buffer: PieceBuffer
    private(set) var blocksReceived = 0
    let blockCount: Int
    /// Tells assemblies of the same piece apart (a piece that failed its hash starts a new one).
    let generation: Int
    /// Per block: the journal epoch in which it arrived, or `nil` while missing.
    private var arrivals: [Int?]
    /// Per block: written to the files ahead of the piece (so the journal may record it).
    private(set) var flushed: [Bool]

    /// Starts with `buffer` (a recycled one of the piece's length, or a fresh one).
    init(buffer: PieceBuffer, blockCount: Int, generation: Int = 0) {
        self.buffer = buffer
        self.blockCount = blockCount
        self.generation = generation
        arrivals = Array(repeating: nil, count: blockCount)
        flushed = Array(repeating: false, count: blockCount)
    }

    var isComplete: Bool { blocksReceived == blockCount }

    /// Copies a block in; the caller has checked that the request lies inside the piece and was not
    /// received before. `epoch` is the journal's current interval number. Returns whether the piece is
    /// then complete.
    @discardableResult
    mutating func insert(
        _ request: BlockRequest, block index: BlockIndex, _ block: ByteBuffer, epoch: Int = 0
    ) -> Bool {
        let begin = Int(request.begin)
        precondition(begin + block.readableBytes <= buffer.count, "block beyond its piece")
        block.withUnsafeReadableBytes { source in
            UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[begin..<begin + source.count]).copyMemory(from: source)
        }
        if arrivals[index.value] == nil { blocksReceived += 1 }
        arrivals[index.value] = epoch
        return isComplete
    }

    /// Runs of received, not yet flushed blocks that arrived before journal epoch `epoch`, as
    /// (first block, block count, bytes) with the bytes copied out. Blocks of the current interval
    /// wait for the next one: most pieces complete within an interval and are then written only once.
    func blocksToFlush(before epoch: Int, blockLength: Int) -> [(first: Int, count: Int, bytes: [UInt8])] {
        var runs: [(first: Int, count: Int, bytes: [UInt8])] = []
        var block = 0
        while block < blockCount {
            guard isFlushable(block, before: epoch) else {
                block += 1
                continue
            }
            var end = block + 1
            while end < blockCount, isFlushable(end, before: epoch) { end += 1 }
            let begin = block * blockLength
            let stop = min(end * blockLength, buffer.count)
            runs.append((block, end - block, Array(buffer.readable[begin..<stop])))
            block = end
        }
        return runs
    }

    private func isFlushable(_ block: Int, before epoch: Int) -> Bool {
        guard !flushed[block], let arrived = arrivals[block] else { return false }
        return arrived < epoch
    }

    /// Notes that blocks `first..<first + count` are in the files.
    mutating func markFlushed(first: Int, count: Int) {
        for block in first..<first + count where arrivals[block] != nil { flushed[block] = true }
    }

    /// Hands the buffer over (the assembly is spent).
    consuming func take() -> PieceBuffer { buffer }
}
