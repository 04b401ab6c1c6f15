import NIOCore

/// The pieces read last for uploads, least recently used first out, within a byte budget (16 MiB per
/// torrent by default): each piece whole, or a piece longer than a quarter of the budget in parts of a
/// quarter of the budget.
///
/// Peers usually request a piece's blocks in a row, and several peers often want the same piece, so
/// one large read serves them all. A part is read straight into a `ByteBuffer` and a block is a slice
/// of it, so no byte is copied between the read and the socket. Two requests for a part being read wait
/// for the same read.
actor PieceReadCache {
    /// A piece, or one part of a long piece.
    struct Part: Hashable {
        var piece: PieceIndex
        var index: Int
    }

    private let storage: any PieceStorage
    /// Most bytes of pieces kept.
    let capacity: Int
    /// The longest part read at once (whole blocks): a piece longer than this is read in parts.
    nonisolated let partLength: Int
    private var parts: [Part: ByteBuffer] = [:]
    private var recency: [Part] = []
    private var bytes = 0
    private var loading: [Part: Task<ByteBuffer, any Error>] = [:]

    /// A cache over `storage` holding at most `capacity` bytes (at least one part).
    init(storage: any PieceStorage, capacity: Int = 16 << 20) {
        self.storage = storage
        self.capacity = capacity
        partLength = max(PieceLayout.blockSize, capacity / 4 / PieceLayout.blockSize * PieceLayout.blockSize)
    }

    /// The bytes of `request`: a slice of its cached part, read first when it is not cached. A block
    /// that straddles two parts (a request not aligned to blocks) is read on its own.
    func block(_ request: BlockRequest) async throws -> ByteBuffer {
        let pieceLength = storage.layout.length(of: request.piece)
        let start = Int(request.begin)
        let length = Int(request.length)
        guard start + length <= pieceLength else {
            throw PeerDropped(reason: "request \(request) past the end of its piece")
        }
        let index = start / partLength
        guard length > 0, (start + length - 1) / partLength == index else {
            return try await storage.readBuffer(piece: request.piece, begin: start, length: length)
        }
        let part = try await bytes(of: Part(piece: request.piece, index: index), pieceLength: pieceLength)
        guard let slice = part.getSlice(at: part.readerIndex + start - index * partLength, length: length) else {
            throw PeerDropped(reason: "request \(request) past the end of its piece")
        }
        return slice
    }

    /// The bytes of each of `requests`, in order, up to the first that cannot be read (its error last).
    func blocks(_ requests: [BlockRequest]) async -> [Result<ByteBuffer, any Error>] {
        var results: [Result<ByteBuffer, any Error>] = []
        results.reserveCapacity(requests.count)
        for request in requests {
            do {
                results.append(.success(try await block(request)))
            } catch {
                results.append(.failure(error))
                break
            }
        }
        return results
    }

    /// Forgets every piece (after the data changed under us).
    func removeAll() {
        parts = [:]
        recency = []
        bytes = 0
    }

    private func bytes(of part: Part, pieceLength: Int) async throws -> ByteBuffer {
        if let cached = parts[part] {
            if let position = recency.lastIndex(of: part), position != recency.count - 1 {
                recency.remove(at: position)
                recency.append(part)
            }
            return cached
        }
        if let task = loading[part] { return try await task.value }
        let storage = self.storage
        let begin = part.index * partLength
        let length = min(partLength, pieceLength - begin)
        let task = Task { try await storage.readBuffer(piece: part.piece, begin: begin, length: length) }
        loading[part] = task
        defer { loading[part] = nil }
        let read = try await task.value
        if parts[part] == nil {
            while bytes + read.readableBytes > capacity, let oldest = recency.first {
                recency.removeFirst()
                bytes -= parts.removeValue(forKey: oldest)?.readableBytes ?? 0
            }
            parts[part] = read
            recency.append(part)
            bytes += read.readableBytes
        }
        return read
    }
}
