/// The piece layers a v2 magnet's info dictionary lacks, fetched from peers with BEP 52 `hash
/// request`s and proved against each file's `pieces root`, as a value the metadata fetcher drives.
///
/// Each file longer than a piece needs its piece layer. It is asked in chunks of at most 512 hashes
/// (the reference client's unit), each with the proof layers that reach the root, so every answer is
/// checked on its own: its hashes, folded with their uncles, must give the file's root. A peer has at
/// most ``requestsPerPeer`` requests out; one that rejects a request is asked no more, one whose answer
/// does not prove out is named to be banned, one that lets a request expire is asked no more either,
/// and the chunk goes to another peer. Memory: the layers themselves (32 bytes a piece, bounded by
/// the info dictionary's piece count) and one entry per chunk.
struct V2PieceLayerFetch {
    /// The most hashes one request asks for.
    static let chunkLength = 512
    /// Most hash requests outstanding at one peer.
    static let requestsPerPeer = 2

    /// A file whose layer is fetched.
    private struct File {
        let root: [UInt8]
        let pieces: Int
        /// The layer of its root (leaves are layer 0).
        let layerCount: Int
        var layer: [UInt8]
    }

    /// One request's worth of a file's layer.
    private struct Chunk: Hashable {
        let file: Int
        let index: Int
    }

    /// What the fetcher does after a hash message.
    enum Reaction: Equatable {
        /// Nothing (an answer kept, or a message about nothing we asked).
        case nothing
        /// The peer answered with hashes that do not prove out against the root: ban it.
        case lied(String)
    }

    /// The layer of piece hashes (0 for 16 KiB pieces).
    let pieceLayer: Int
    private var files: [File]
    private var missing: Set<Chunk>
    private var asked: [Chunk: (peer: PeerKey, at: ContinuousClock.Instant)] = [:]
    /// Peers asked no more: they rejected a request or let one expire.
    private(set) var refusing: Set<PeerKey> = []
    /// How long a peer may take to answer.
    let requestTimeout: Duration

    /// The fetch of the piece layers `metainfo` lacks; `nil` when it lacks none (a v1 torrent, or
    /// every file of at most one piece, or the layers present).
    init?(metainfo: Metainfo, requestTimeout: Duration = .seconds(10)) {
        guard metainfo.version != .v1 else { return nil }
        let pieceLength = metainfo.pieceLength
        pieceLayer = (pieceLength / MerkleTree.blockSize).trailingZeroBitCount
        var files: [File] = []
        var missing: Set<Chunk> = []
        for index in metainfo.files.indices where !metainfo.files.isPad(at: index) {
            let length = metainfo.files.length(at: index)
            guard length > Int64(pieceLength), let root = metainfo.files[index].piecesRoot,
                metainfo.pieceLayers[root] == nil, !files.contains(where: { $0.root == root })
            else { continue }
            let pieces = Int((length + Int64(pieceLength) - 1) / Int64(pieceLength))
            let blocks = (length + Int64(MerkleTree.blockSize) - 1) / Int64(MerkleTree.blockSize)
            let layerCount = V2HashTree.log2(ceilingPowerOfTwo: blocks)
            for chunk in stride(from: 0, to: pieces, by: Self.chunkLength) {
                missing.insert(Chunk(file: files.count, index: chunk))
            }
            files.append(
                File(
                    root: root, pieces: pieces, layerCount: layerCount,
                    layer: [UInt8](repeating: 0, count: pieces * 32)))
        }
        guard !files.isEmpty else { return nil }
        self.files = files
        self.missing = missing
        self.requestTimeout = requestTimeout
    }

    /// True once every layer is proved.
    var isComplete: Bool { missing.isEmpty }

    /// Chunks still to get.
    var chunksLeft: Int { missing.count }

    /// The layers, by `pieces root` (complete once ``isComplete``).
    var pieceLayers: [[UInt8]: [UInt8]] {
        Dictionary(uniqueKeysWithValues: files.map { ($0.root, $0.layer) })
    }

    /// The request for `chunk`: up to 512 piece hashes (a power of two, at least two: past the file's
    /// last piece the padding nodes; the reference client answers a single hash with one uncle too
    /// few), with the proof layers up to the layer below the root.
    private func request(for chunk: Chunk) -> HashRequest {
        let file = files[chunk.file]
        var length = 2
        while length < min(Self.chunkLength, file.pieces - chunk.index) { length *= 2 }
        return HashRequest(
            piecesRoot: file.root, baseLayer: UInt32(pieceLayer), index: UInt32(chunk.index),
            length: UInt32(length), proofLayers: UInt32(file.layerCount - pieceLayer - 1))
    }

    /// The requests to send now to the peers `peers` (those past their handshake, not banned): each
    /// missing chunk nobody is asked for goes to a peer with room that has not refused.
    mutating func requests(to peers: [PeerKey], now: ContinuousClock.Instant) -> [(PeerKey, HashRequest)] {
        var load: [PeerKey: Int] = [:]
        for (_, entry) in asked { load[entry.peer, default: 0] += 1 }
        var candidates = peers.filter { !refusing.contains($0) && load[$0, default: 0] < Self.requestsPerPeer }
        var out: [(PeerKey, HashRequest)] = []
        for chunk in missing.sorted(by: { ($0.file, $0.index) < ($1.file, $1.index) }) where asked[chunk] == nil {
            guard let peer = candidates.min(by: { load[$0, default: 0] < load[$1, default: 0] }) else { break }
            asked[chunk] = (peer, now)
            load[peer, default: 0] += 1
            if load[peer, default: 0] >= Self.requestsPerPeer { candidates.removeAll { $0 == peer } }
            out.append((peer, request(for: chunk)))
        }
        return out
    }

    /// Takes in a hash message from `peer`.
    mutating func received(_ message: HashMessage, from peer: PeerKey) -> Reaction {
        let request = message.request
        guard let fileIndex = files.firstIndex(where: { $0.root == request.piecesRoot }) else { return .nothing }
        let chunk = Chunk(file: fileIndex, index: Int(request.index))
        guard asked[chunk]?.peer == peer, self.request(for: chunk) == request else { return .nothing }
        switch message {
        case .request:
            return .nothing
        case .reject:
            asked[chunk] = nil
            refusing.insert(peer)
            return .nothing
        case .hashes(_, let hashes):
            asked[chunk] = nil
            let file = files[fileIndex]
            guard
                Self.proves(
                    hashes, request: request, root: file.root, layerCount: file.layerCount, pieceLayer: pieceLayer)
            else {
                return .lied("piece hashes \(request.index)... of a file do not prove out against its root")
            }
            let count = min(Int(request.length), file.pieces - chunk.index)
            files[fileIndex].layer.replaceSubrange(
                chunk.index * 32..<(chunk.index + count) * 32, with: hashes[0..<count * 32])
            missing.remove(chunk)
            return .nothing
        }
    }

    /// Requests unanswered past the timeout are freed; their peers are asked no more. Returns them.
    mutating func expire(now: ContinuousClock.Instant) -> [PeerKey] {
        let late = asked.filter { now - $0.value.at > requestTimeout }
        for chunk in late.keys { asked[chunk] = nil }
        let peers = Set(late.values.map { $0.peer })
        refusing.formUnion(peers)
        return Array(peers)
    }

    /// A peer's connection closed: what it was asked goes to others.
    mutating func peerGone(_ peer: PeerKey) {
        for (chunk, entry) in asked where entry.peer == peer { asked[chunk] = nil }
    }

    /// True when `hashes` answer `request` (base layer `pieceLayer` of a tree whose root is at layer
    /// `layerCount`) with exactly the requested hashes and the uncles up to the root, and fold to `root`.
    static func proves(
        _ hashes: [UInt8], request: HashRequest, root: [UInt8], layerCount: Int, pieceLayer: Int
    ) -> Bool {
        let length = Int(request.length)
        let k = length.trailingZeroBitCount
        let uncles = layerCount - pieceLayer - k
        guard uncles >= 0, hashes.count == (length + uncles) * 32 else { return false }
        var node = MerkleTree.root(ofLayer: hashes[0..<length * 32], padding: root)  // a power of two: no padding
        var position = Int(request.index) >> k
        for offset in stride(from: length * 32, to: hashes.count, by: 32) {
            let uncle = hashes[offset..<offset + 32]
            node = MerkleTree.root(
                ofLayer: position % 2 == 0 ? (node + uncle)[...] : (Array(uncle) + node)[...], padding: root)
            position /= 2
        }
        return position == 0 && node == root
    }
}
