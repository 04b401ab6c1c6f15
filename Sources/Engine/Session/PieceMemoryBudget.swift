/// How many pieces a session may have in progress while complete pieces wait for their writes, so
/// that the piece buffers it holds stay within a budget when the disk is slower than the network.
///
/// Every piece in progress holds a piece buffer until it is verified: while it is gathered in its
/// ``PieceAssembly`` and while, complete, it is hashed and written (a store). When the writes lag the
/// network, complete pieces queue for them, and a picker free to start pieces starts as many as the
/// request pipelines hold meanwhile: a 1 GiB download from one fast seed held up to 18 pieces of 1 MiB
/// at once. So while a store is in flight, requests start no new piece once the pieces in progress take
/// ``bytes`` (two pieces when those are larger): blocks of started pieces are still requested, and new
/// pieces start again as stores end (each ended store tops up the peers' requests). With no store in
/// flight nothing is limited: a piece in progress that no connected peer can finish must never stop the
/// download, and ``PieceAssemblies``' own limit still bounds the memory then. Pausing requests does not
/// cost speed the way a lower ``PieceAssemblies`` limit did (pieces past it went to disk block by block
/// and were read back to be hashed): what waits is the network, while the disk is what limits anyway.
struct PieceMemoryBudget: Sendable {
    /// The default for ``bytes``: 8 MiB.
    static let defaultBytes = 8 << 20

    /// The bytes of pieces in progress above which no new piece starts while a store is in flight.
    let bytes: Int

    init(bytes: Int = PieceMemoryBudget.defaultBytes) {
        self.bytes = bytes
    }

    /// The most pieces of `pieceLength` bytes in progress at once, with `storesInFlight` complete pieces
    /// being hashed and written (`Int.max`: no limit, when none is).
    func maxPiecesInProgress(pieceLength: Int, storesInFlight: Int) -> Int {
        guard storesInFlight > 0 else { return .max }
        return max(2, bytes / max(1, pieceLength))
    }
}
