import NIOCore

/// The pieces read last for uploads, least recently used first out, within a byte budget (16 MiB per
/// torrent by default): each piece whole, or a piece longer than a quarter of the budget in parts of a
/// quarter of the budget.
///
/// Peers usually request a piece's blocks in a row, and several peers often want the same piece, so
/// one large read serves them all. A part is read straight into a `ByteBuffer` and a block is a slice
/// of it, so no byte is copied between the read and the socket. Two requests for a part being read wait
/// for the same read.
///
/// The part pushed out last is the next read's buffer (``spare``, inside the budget): its pages are
/// already the process's, where a fresh buffer of a megabyte or more costs the kernel a page fault and
/// a cleared page per 4 KiB (`perf` of a btq seeding btq over TCP: 15% of the seeder's time). When
/// blocks sliced from it are still on their way to a socket, the read gets a fresh buffer instead (the
/// `ByteBuffer` is copied on write), so nothing sent is overwritten.
///
/// ``release()`` lets go of everything: the session calls it when its last peer leaves, so an idle
/// seeding torrent holds no piece bytes.
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
    /// The buffer of the part pushed out last, for the next read; its capacity counts in ``bytes``.
    private var spare: ByteBuffer?
    /// Counts ``release()`` calls: a read that was under way across one is not kept.
    private var releases = 0

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
            return try await storage.readBuffer(piece: request.piece, begin: start, length: length, reusing: nil)
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

    /// Forgets every piece (after the data changed under us, or when no peer is left to serve).
    func release() {
        releases += 1
        parts = [:]
        recency = []
        spare = nil
        bytes = 0
    }

    /// Bytes held: the cached parts and the spare buffer.
    var heldBytes: Int { bytes }

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
        let reuse = ReusableBuffer(takeSpare(fitting: length))
        let task = Task {
            try await storage.readBuffer(piece: part.piece, begin: begin, length: length, reusing: reuse)
        }
        loading[part] = task
        defer { loading[part] = nil }
        let generation = releases
        let read = try await task.value
        if parts[part] == nil, releases == generation {
            makeRoom(for: read.capacity)
            parts[part] = read
            recency.append(part)
            bytes += read.capacity
        }
        return read
    }

    /// Pushes out the least recently used parts until `incoming` bytes fit the budget beside a spare
    /// buffer; the first part pushed out that fits becomes the spare.
    private func makeRoom(for incoming: Int) {
        while let oldest = recency.first,
            bytes + incoming > capacity || (spare == nil && bytes + incoming + partLength > capacity)
        {
            recency.removeFirst()
            guard let evicted = parts.removeValue(forKey: oldest) else { continue }
            bytes -= evicted.capacity
            if spare == nil, bytes + incoming + evicted.capacity <= capacity {
                spare = evicted
                bytes += evicted.capacity
            }
        }
    }

    /// The spare buffer when it holds `length` bytes (its bytes leave the count); dropped when it does not.
    private func takeSpare(fitting length: Int) -> ByteBuffer? {
        guard let buffer = spare else { return nil }
        spare = nil
        bytes -= buffer.capacity
        return buffer.capacity >= length ? buffer : nil
    }
}
