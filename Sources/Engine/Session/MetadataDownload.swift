import NIOCore

/// The BEP 9 side of a ``MetadataFetcher``, as a value: which `metadata_size` is assembled, which piece
/// is asked of which peer, what a `data` or `reject` message means, and whether the assembled info
/// dictionary hashes to the info-hash.
///
/// The fetcher owns the connections. It describes each one as a ``Peer`` and does what the exchange
/// decides: it sends the requests ``requests(to:now:)`` returns, rests, drops or bans the peers a
/// ``Reaction`` names, and keeps the metadata a ``Verdict`` accepts.
///
/// Each peer that announced the size being assembled is asked for at most ``requestsPerPeer`` pieces
/// at a time. A rejected or expired request frees its piece for another peer, and the peer rests a
/// while before it is asked again (see ``MetadataPeer/canBeAsked(now:rest:)``); after
/// ``rejectsToDrop`` rejects it is dropped. Metadata that fails the hash bans its sender when one
/// address sent all of it; when several did, nobody can be blamed, and from then on one peer at a time
/// is asked (single-source mode), so the next failure names its sender.
struct MetadataDownload {
    /// A connected peer as the exchange sees it: what it announced and how it answered so far.
    struct Peer: Sendable, Hashable {
        let key: PeerKey
        /// Its BitTorrent handshake was accepted.
        var handshaken: Bool
        /// Its extension handshake (BEP 10), once it arrived.
        var extensions: ExtensionHandshake?
        /// It announced a size and is not resting after a reject or a timeout.
        var canBeAsked: Bool
        /// Its address is banned (it sent metadata that did not match, or it is ourselves).
        var banned = false
        /// Metadata requests it rejected.
        var rejects = 0

        /// Its `ut_metadata` message id, once it announced one.
        var metadataId: UInt8? { extensions?.id(of: ExtensionHandshake.utMetadata) }

        /// The metadata size it announced with `ut_metadata`, when it says it has the metadata.
        var announcedSize: Int? { metadataId == nil ? nil : extensions?.metadataSize }
    }

    /// What the fetcher does after a metadata message from a peer (besides asking for more pieces).
    enum Reaction: Hashable, Sendable {
        /// Nothing.
        case nothing
        /// Send the peer this message.
        case reply(PeerMessage)
        /// It rejected a request: it rests before it is asked again, and its reject is counted. `drop`
        /// says why to drop it (a failure: it is dialled again later, less and less often), once it
        /// rejected ``MetadataDownload/rejectsToDrop`` requests.
        case rejected(drop: String?)
        /// The metadata is complete: what its hash check says.
        case checked(Verdict)
    }

    /// What the hash check of a complete assembly says.
    enum Verdict: Hashable, Sendable {
        /// It hashes to the info-hash: the info dictionary, and the addresses that sent it (sorted).
        case verified(info: [UInt8], sources: [PeerAddress])
        /// It does not, and this one address sent all of it: ban it.
        case ban(PeerAddress)
        /// It does not, and `senders` addresses sent it: nobody is blamed, and from now on one peer at a
        /// time is asked.
        case askOneAtATime(senders: Int)
    }

    /// Most metadata requests outstanding at one peer.
    static let requestsPerPeer = 2
    /// Rejected requests after which a peer is dropped (and dialled again later, less and less often):
    /// a peer that announced a size but sends nothing is of no use.
    static let rejectsToDrop = 3

    /// The info-hashes the metadata must match.
    let infoHashes: InfoHashes
    /// How long a peer may take to answer a request before the piece is asked of another; also how long
    /// a peer rests after a reject or a timeout.
    let requestTimeout: Duration
    /// The pieces of the size being assembled, once a peer that can be asked announced one.
    private(set) var assembly: MetadataAssembly?
    /// After a hash failure that could not be pinned on one peer, ask one peer at a time.
    private(set) var singleSourceMode = false
    /// The address of every connection made, also closed ones: pieces outlive their connection.
    private var addresses: [PeerKey: PeerAddress] = [:]

    init(infoHashes: InfoHashes, requestTimeout: Duration) {
        self.infoHashes = infoHashes
        self.requestTimeout = requestTimeout
    }

    /// Metadata pieces received, of ``pieceCount``.
    var piecesDone: Int { assembly?.receivedCount ?? 0 }

    /// Metadata pieces of the size being assembled (0 before a peer announced one).
    var pieceCount: Int { assembly?.pieceCount ?? 0 }

    /// A connection to `address` is known as `key` from now on.
    mutating func connected(_ key: PeerKey, address: PeerAddress) {
        addresses[key] = address
    }

    /// The connection `key` closed: its pieces become free to ask of others, and a single-source
    /// assembly that depended on it starts over.
    mutating func peerGone(_ key: PeerKey) {
        assembly?.peerGone(key)
        if assembly?.singleSource == key { assembly = nil }
    }

    // MARK: - Requests

    /// Hands out missing pieces to `peers` that have the metadata, a few requests each: the messages to
    /// send, by peer (in key order, peers with nothing to send left out).
    ///
    /// The size assembled is the one ``MetadataSizeElection`` chooses among the peers not banned; when
    /// it changes, the assembly starts over with it.
    mutating func requests(to peers: [Peer], now: ContinuousClock.Instant) -> [(peer: PeerKey, messages: [PeerMessage])]
    {
        let peers = peers.sorted { $0.key < $1.key }
        let voters = peers.compactMap { peer -> MetadataSizeElection.Voter? in
            guard peer.handshaken, let size = peer.announcedSize, size > 0, !peer.banned else { return nil }
            return .init(key: peer.key, size: size, canAsk: Self.isUsable(peer))
        }
        let current = assembly.map { MetadataSizeElection.Current(size: $0.size, started: $0.receivedCount > 0) }
        let size = MetadataSizeElection.choose(among: voters, current: current)
        if size != assembly?.size {
            // Nobody left who has metadata of the old size, or most peers announce another one: start
            // over with that size. A peer announcing another size is not asked.
            let first = voters.filter { $0.size == size && $0.canAsk }.min { $0.key < $1.key }
            assembly = size.flatMap { MetadataAssembly(size: $0, singleSource: singleSourceMode ? first?.key : nil) }
        }
        guard var current = assembly else { return [] }
        var requests: [(peer: PeerKey, messages: [PeerMessage])] = []
        for peer in peers where Self.isUsable(peer) {
            guard peer.announcedSize == current.size, let theirs = peer.metadataId else { continue }
            var messages: [PeerMessage] = []
            while current.outstanding(at: peer.key) < Self.requestsPerPeer,
                let piece = current.nextRequest(for: peer.key, now: now)
            {
                messages.append(
                    .extended(id: theirs, payload: ByteBuffer(bytes: MetadataMessage.request(piece: piece).encoded())))
            }
            if !messages.isEmpty { requests.append((peer.key, messages)) }
        }
        assembly = current
        return requests
    }

    private static func isUsable(_ peer: Peer) -> Bool {
        !peer.banned && peer.canBeAsked
    }

    /// Requests older than ``requestTimeout``: their pieces become free to ask of others (a late answer
    /// is still taken). Returns the peers that let them expire, one entry per request.
    mutating func expire(now: ContinuousClock.Instant) -> [PeerKey] {
        guard var current = assembly else { return [] }
        let slow = current.expire(now: now, timeout: requestTimeout)
        assembly = current
        return slow
    }

    // MARK: - Messages

    /// Takes in a `ut_metadata` message from `peer`.
    ///
    /// - Throws: ``ExtensionMessageError`` when the peer is at fault: a piece nobody asked it for, out of
    ///   range or of the wrong length, or a total size other than the one it announced.
    mutating func received(_ message: MetadataMessage, from peer: Peer) throws(ExtensionMessageError) -> Reaction {
        switch message {
        case .request(let piece):
            // We have nothing to serve yet.
            guard let theirs = peer.metadataId else { return .nothing }
            return .reply(
                .extended(id: theirs, payload: ByteBuffer(bytes: MetadataMessage.reject(piece: piece).encoded())))
        case .reject(let piece):
            assembly?.rejected(piece: piece, by: peer.key)
            let rejects = peer.rejects + 1
            return .rejected(drop: rejects >= Self.rejectsToDrop ? "rejected \(rejects) metadata requests" : nil)
        case .data(let piece, let totalSize, let bytes):
            guard var current = assembly else { throw .unrequestedMetadata(piece: piece) }
            if let announced = peer.extensions?.metadataSize, announced != totalSize {
                throw .metadataSizeChanged(announced: announced, sent: totalSize)
            }
            // An answer for an assembly of another size, which most peers outvoted: not used.
            guard totalSize == current.size else { return .nothing }
            let complete = try current.receive(piece: piece, bytes: bytes, from: peer.key)
            assembly = current
            return complete ? .checked(verify(current)) : .nothing
        }
    }

    // MARK: - Verification

    /// Checks a complete assembly against the info-hash; the next one starts from scratch either way.
    private mutating func verify(_ complete: MetadataAssembly) -> Verdict {
        let info = complete.assembled()
        let contributors = Set(complete.contributors.compactMap { addresses[$0] })
        assembly = nil
        if infoHashes.matches(info: info) {
            return .verified(info: info, sources: contributors.sorted { $0.description < $1.description })
        }
        if contributors.count == 1, let liar = contributors.first { return .ban(liar) }
        singleSourceMode = true
        return .askOneAtATime(senders: contributors.count)
    }
}
