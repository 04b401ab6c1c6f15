import NIOCore

extension PiecePicker {
    /// What we tell a peer we have, right after the handshake: under the Fast extension (`fast`) nothing
    /// and everything are `have none` and `have all`; otherwise a bitfield, and nothing at all when we
    /// have no piece.
    func availabilityMessages(fast: Bool) -> [PeerMessage] {
        if haveCount == 0 { return fast ? [.haveNone] : [] }
        if haveCount == layout.pieceCount, fast { return [.haveAll] }
        var bitfield = PeerBitfield(count: layout.pieceCount)
        for piece in layout.pieces where has(piece) { bitfield.insert(piece) }
        return [.bitfield(ByteBuffer(bytes: bitfield.bytes))]
    }
}
