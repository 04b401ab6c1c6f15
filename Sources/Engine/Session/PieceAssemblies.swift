import NIOCore

/// A torrent's pieces being gathered in memory, and their buffers.
///
/// The assemblies and the spare buffers together never take more than ``limit`` bytes: a piece that
/// does not fit (and a piece restored from the journal with blocks already in the files) goes to disk
/// block by block, "direct", and is hashed from the files once complete. A stored piece's buffer is kept
/// as a spare for the next assembly while pieces remain to be fetched (no allocator churn, no page
/// faults on fresh memory); a spare exists only because an assembly that counted against the limit
/// ended. Stores in flight (a complete piece being hashed and written off the session) are counted so
/// that a stop can wait for them.
struct PieceAssemblies {
    /// What became of a block given to ``add(_:block:epoch:)``.
    enum Added {
        /// No room in memory, or the piece goes to disk already: write the block to the files.
        case writeDirect
        /// Kept: its piece waits for more blocks.
        case kept
        /// Not a block of its piece (ignored).
        case ignored
        /// Its piece is whole: hash and store this buffer (it counts against the limit until recycled).
        case complete(PieceBuffer)
    }

    let layout: PieceLayout
    /// The most bytes of assemblies and spares at once.
    let limit: Int
    /// Assemblies by piece.
    private(set) var byPiece: [PieceIndex: PieceAssembly] = [:]
    /// Bytes of assemblies and of buffers being stored, counted against ``limit``.
    private(set) var bytes = 0
    /// Pieces whose blocks go straight to the files.
    private(set) var direct: Set<PieceIndex> = []
    /// Piece-sized buffers of stored pieces, reused for the next assemblies.
    private(set) var spares: [PieceBuffer] = []
    /// Tells a piece's assemblies apart (a new one starts after a failed hash).
    private var generation = 0
    /// Complete pieces being hashed and written.
    private(set) var storesInFlight = 0

    init(layout: PieceLayout, limit: Int = 32 << 20) {
        self.layout = layout
        self.limit = limit
    }

    /// Adds a received block, in journal epoch `epoch`, to its piece's assembly (started when it is the
    /// piece's first block and there is room).
    mutating func add(_ request: BlockRequest, block: ByteBuffer, epoch: Int) -> Added {
        let piece = request.piece
        guard let index = layout.block(for: request) else { return .ignored }
        // The assembly is changed in place: a read of it (even to compare it with nil) would copy it,
        // retaining its buffer and arrays, for every block.
        let inserted = byPiece.modifyValue(forKey: piece) { $0.insert(request, block: index, block, epoch: epoch) }
        if let complete = inserted {
            guard complete, let assembly = byPiece.removeValue(forKey: piece) else { return .kept }
            storesInFlight += 1
            return .complete(assembly.take())
        }
        let length = layout.length(of: piece)
        guard !direct.contains(piece), bytes + length <= limit else {
            direct.insert(piece)
            return .writeDirect
        }
        let buffer = (length == layout.pieceLength ? spares.popLast() : nil) ?? PieceBuffer(count: length)
        generation += 1
        var assembly = PieceAssembly(buffer: buffer, blockCount: layout.blockCount(in: piece), generation: generation)
        bytes += length
        guard assembly.insert(request, block: index, block, epoch: epoch) else {
            byPiece[piece] = assembly
            return .kept
        }
        storesInFlight += 1
        return .complete(assembly.take())
    }

    /// A complete piece's store ended (written or not): its buffer is kept as a spare when `keepSpare`
    /// (pieces remain to be fetched) and it is piece-sized (a short last piece's fits no other).
    mutating func stored(_ buffer: PieceBuffer, keepSpare: Bool) {
        storesInFlight -= 1
        bytes -= buffer.count
        guard keepSpare else {
            spares.removeAll()
            return
        }
        if buffer.count == layout.pieceLength { spares.append(buffer) }
    }

    /// Every piece is here: the spares are let go of.
    mutating func dropSpares() { spares.removeAll() }

    /// Its blocks go straight to the files from now on (some already are, from an earlier run).
    mutating func goDirect(_ piece: PieceIndex) { direct.insert(piece) }

    /// A piece was checked (verified or thrown away): a new download of it may use memory again.
    mutating func pieceChecked(_ piece: PieceIndex) { direct.remove(piece) }

    /// Blocks `first..<first + count` of a piece, and a copy of their bytes.
    typealias Run = (first: Int, count: Int, bytes: [UInt8])

    /// What of `piece`'s assembly arrived before journal epoch `epoch` and is not in the files yet: the
    /// assembly's generation and runs of blocks to write, copied out (see ``flushed(_:generation:first:count:)``).
    /// `nil` when the piece has no assembly.
    func flushPlan(
        _ piece: PieceIndex, before epoch: Int
    ) -> (generation: Int, runs: [Run])? {
        guard let assembly = byPiece[piece] else { return nil }
        return (assembly.generation, assembly.blocksToFlush(before: epoch, blockLength: PieceLayout.blockSize))
    }

    /// Blocks `first..<first + count` of `piece`, from a plan of its assembly of `generation`, are in the
    /// files. False when that assembly is gone meanwhile (its piece was completed and stored whole, or
    /// thrown away and started again): the rest of the plan no longer holds.
    mutating func flushed(_ piece: PieceIndex, generation: Int, first: Int, count: Int) -> Bool {
        // Taken out while it changes: a copy kept meanwhile would make the change copy the piece buffer.
        guard var current = take(piece) else { return false }
        guard current.generation == generation else {
            putBack(current, for: piece)
            return false
        }
        current.markFlushed(first: first, count: count)
        putBack(current, for: piece)
        return true
    }

    /// Takes the assembly of `piece` out, for a change that must not copy its buffer.
    mutating func take(_ piece: PieceIndex) -> PieceAssembly? { byPiece.removeValue(forKey: piece) }

    /// Puts an assembly taken with ``take(_:)`` back.
    mutating func putBack(_ assembly: PieceAssembly, for piece: PieceIndex) { byPiece[piece] = assembly }
}
