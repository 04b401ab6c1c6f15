import NIOCore

/// The pieces read last for uploads, whole, least recently used first out, within a byte budget
/// (16 MiB per torrent by default).
///
/// Peers usually request a piece's blocks in a row, and several peers often want the same piece, so
/// one read of the piece serves them all. Two requests for a piece being read wait for the same read.
actor PieceReadCache {
    private let storage: any PieceStorage
    /// Most bytes of pieces kept.
    let capacity: Int
    private var pieces: [PieceIndex: [UInt8]] = [:]
    private var recency: [PieceIndex] = []
    private var bytes = 0
    private var loading: [PieceIndex: Task<[UInt8], any Error>] = [:]

    /// A cache over `storage` holding at most `capacity` bytes (at least one piece).
    init(storage: any PieceStorage, capacity: Int = 16 << 20) {
        self.storage = storage
        self.capacity = capacity
    }

    /// The bytes of `request`, from the cache or read with its whole piece. Pieces larger than a quarter
    /// of the budget are not cached: their blocks are read one by one.
    func block(_ request: BlockRequest) async throws -> ByteBuffer {
        if storage.layout.length(of: request.piece) > capacity / 4 {
            return ByteBuffer(bytes: try await storage.read(request))
        }
        let piece = try await bytes(of: request.piece)
        let start = Int(request.begin)
        let end = start + Int(request.length)
        guard end <= piece.count else { throw PeerDropped(reason: "request \(request) past the end of its piece") }
        return ByteBuffer(bytes: piece[start..<end])
    }

    /// Forgets every piece (after the data changed under us).
    func removeAll() {
        pieces = [:]
        recency = []
        bytes = 0
    }

    private func bytes(of piece: PieceIndex) async throws -> [UInt8] {
        if let cached = pieces[piece] {
            if let position = recency.lastIndex(of: piece), position != recency.count - 1 {
                recency.remove(at: position)
                recency.append(piece)
            }
            return cached
        }
        if let task = loading[piece] { return try await task.value }
        let storage = self.storage
        let task = Task { try await storage.read(piece: piece) }
        loading[piece] = task
        defer { loading[piece] = nil }
        let read = try await task.value
        if pieces[piece] == nil {
            while bytes + read.count > capacity, let oldest = recency.first {
                recency.removeFirst()
                bytes -= pieces.removeValue(forKey: oldest)?.count ?? 0
            }
            pieces[piece] = read
            recency.append(piece)
            bytes += read.count
        }
        return read
    }
}
