import NIOCore

extension ByteBuffer {
    /// Reads a handshake, like `readInteger`: `nil` while fewer than 68 bytes are readable, a
    /// ``PeerWireError`` as soon as the bytes received cannot start a handshake. On `nil` or an
    /// error the reader index does not move.
    public mutating func readPeerHandshake() throws(PeerWireError) -> PeerHandshake? {
        guard let nameLength = getInteger(at: readerIndex, as: UInt8.self) else { return nil }
        let name = PeerHandshake.protocolName
        guard Int(nameLength) == name.count else { throw .invalidProtocolName(length: nameLength) }
        let received = readableBytesView.dropFirst().prefix(name.count)
        guard received.elementsEqual(name.prefix(received.count)) else {
            throw .invalidProtocolName(length: nameLength)
        }
        guard readableBytes >= PeerHandshake.encodedLength,
            let reserved = getInteger(at: readerIndex + 20, as: UInt64.self),
            let infoHash = getBytes(at: readerIndex + 28, length: 20),
            let peerId = getBytes(at: readerIndex + 48, length: 20)
        else { return nil }
        moveReaderIndex(forwardBy: PeerHandshake.encodedLength)
        return PeerHandshake(infoHash: infoHash, peerId: peerId, reserved: ReservedBits(rawValue: reserved))
    }

    /// Reads one length-prefixed message, like `readInteger`: `nil` until the whole frame is
    /// readable, a ``PeerWireError`` as soon as the bytes received are malformed. On `nil` or an
    /// error the reader index does not move.
    ///
    /// The length prefix is checked against `maxFrameLength` before anything else and the length
    /// against the message id as soon as the id arrives, so a hostile length never makes the
    /// caller wait for, or buffer, a frame that will be refused. Payloads are slices of `self`.
    public mutating func readPeerMessage(maxFrameLength: Int) throws(PeerWireError) -> PeerMessage? {
        guard let length = getInteger(at: readerIndex, as: UInt32.self) else { return nil }
        guard UInt64(length) <= UInt64(Swift.max(0, maxFrameLength)) else {
            throw .frameTooLarge(length: length, limit: maxFrameLength)
        }
        guard length > 0 else {
            moveReaderIndex(forwardBy: 4)
            return .keepAlive
        }
        guard let id = getInteger(at: readerIndex + 4, as: UInt8.self) else { return nil }
        try PeerMessage.validate(id: id, length: length)
        guard var payload = getSlice(at: readerIndex + 5, length: Int(length) - 1) else { return nil }
        guard let message = PeerMessage.parse(id: id, payload: &payload) else {
            throw .invalidLength(messageID: id, length: length)
        }
        moveReaderIndex(forwardBy: 4 + Int(length))
        return message
    }

    /// Writes a handshake: 68 bytes. Returns the number of bytes written.
    @discardableResult
    public mutating func writePeerHandshake(_ handshake: PeerHandshake) -> Int {
        var written = writeInteger(UInt8(PeerHandshake.protocolName.count))
        written += writeBytes(PeerHandshake.protocolName)
        written += writeInteger(handshake.reserved.rawValue)
        written += writeBytes(handshake.infoHash)
        written += writeBytes(handshake.peerId)
        return written
    }

    /// Writes one message with its length prefix, copying any payload bytes. Returns the number of
    /// bytes written. ``PeerWireEncoder`` avoids the copy of piece blocks.
    @discardableResult
    public mutating func writePeerMessage(_ message: PeerMessage) -> Int {
        let start = writerIndex
        if let trailing = writePeerMessageHead(message) {
            writeImmutableBuffer(trailing)
        }
        return writerIndex - start
    }

    /// Writes the length prefix, id and fixed fields of `message` and returns the bytes that must
    /// follow them (a bitfield, block or payload), or `nil` when the message is complete.
    mutating func writePeerMessageHead(_ message: PeerMessage) -> ByteBuffer? {
        let length = message.frameLength
        precondition(length <= Int(UInt32.max), "peer message too large to frame")
        writeInteger(UInt32(length))
        guard let id = message.id else { return nil }
        writeInteger(id)
        switch message {
        case .keepAlive, .choke, .unchoke, .interested, .notInterested, .haveAll, .haveNone:
            return nil
        case .have(let index), .suggestPiece(let index), .allowedFast(let index):
            writeInteger(index.rawValue)
            return nil
        case .request(let request), .cancel(let request), .rejectRequest(let request):
            writeInteger(request.piece.rawValue)
            writeInteger(request.begin)
            writeInteger(request.length)
            return nil
        case .port(let port):
            writeInteger(port)
            return nil
        case .bitfield(let bytes):
            return bytes
        case .piece(let index, let begin, let block):
            writeInteger(index.rawValue)
            writeInteger(begin)
            return block
        case .extended(let extendedID, let payload):
            writeInteger(extendedID)
            return payload
        case .unknown(_, let payload):
            return payload
        }
    }
}

extension PeerMessage {
    /// Throws unless `length` (id byte plus payload) is valid for message `id`.
    static func validate(id: UInt8, length: UInt32) throws(PeerWireError) {
        let valid: Bool
        switch id {
        case ID.choke, ID.unchoke, ID.interested, ID.notInterested, ID.haveAll, ID.haveNone: valid = length == 1
        case ID.have, ID.suggestPiece, ID.allowedFast: valid = length == 5
        case ID.request, ID.cancel, ID.rejectRequest: valid = length == 13
        case ID.port: valid = length == 3
        case ID.bitfield, ID.extended: valid = length >= 2
        case ID.piece: valid = length >= 9
        default: valid = length >= 1
        }
        guard valid else { throw .invalidLength(messageID: id, length: length) }
    }

    /// Parses the payload of a message whose length was validated; `nil` if it is still short.
    static func parse(id: UInt8, payload: inout ByteBuffer) -> PeerMessage? {
        switch id {
        case ID.choke: return .choke
        case ID.unchoke: return .unchoke
        case ID.interested: return .interested
        case ID.notInterested: return .notInterested
        case ID.haveAll: return .haveAll
        case ID.haveNone: return .haveNone
        case ID.have: return payload.readPieceIndex().map { .have($0) }
        case ID.suggestPiece: return payload.readPieceIndex().map { .suggestPiece($0) }
        case ID.allowedFast: return payload.readPieceIndex().map { .allowedFast($0) }
        case ID.request: return payload.readBlockRequest().map { .request($0) }
        case ID.cancel: return payload.readBlockRequest().map { .cancel($0) }
        case ID.rejectRequest: return payload.readBlockRequest().map { .rejectRequest($0) }
        case ID.port: return payload.readInteger(as: UInt16.self).map { .port($0) }
        case ID.bitfield: return .bitfield(payload)
        case ID.piece:
            guard let index = payload.readPieceIndex(), let begin = payload.readInteger(as: UInt32.self) else {
                return nil
            }
            return .piece(index: index, begin: begin, block: payload)
        case ID.extended:
            guard let extendedID = payload.readInteger(as: UInt8.self) else { return nil }
            return .extended(id: extendedID, payload: payload)
        default:
            return .unknown(id: id, payload: payload)
        }
    }
}

extension ByteBuffer {
    fileprivate mutating func readPieceIndex() -> PieceIndex? {
        readInteger(as: UInt32.self).map(PieceIndex.init(rawValue:))
    }

    fileprivate mutating func readBlockRequest() -> BlockRequest? {
        guard let piece = readPieceIndex(),
            let begin = readInteger(as: UInt32.self),
            let length = readInteger(as: UInt32.self)
        else { return nil }
        return BlockRequest(piece: piece, begin: begin, length: length)
    }
}
