import NIOCore
import Testing

@testable import Engine

/// The BEP 9 exchange of a metadata fetch, as a value with an explicit clock: which peer is asked for
/// which piece, what rejects, timeouts and answers do, and the hash check of what arrived. The metadata
/// is a real info dictionary of four 16 KiB pieces.
@Suite(.timeLimit(.minutes(5))) struct MetadataDownloadTests {
    typealias Peer = MetadataDownload.Peer

    static let metainfo = MetadataFetchTests.largeMetainfo()
    static var info: [UInt8] { metainfo.infoBytes }
    static let timeout = Duration.seconds(10)

    let now = ContinuousClock.now

    static func exchange() -> MetadataDownload {
        MetadataDownload(infoHashes: metainfo.infoHashes, requestTimeout: timeout)
    }

    /// The address of connection `key`: 10.0.0.`key`:6881.
    static func address(_ key: Int) -> PeerAddress {
        PeerAddress(host: .ipv4(10, 0, 0, UInt8(key)), port: 6881)
    }

    /// Peer `key`, known to `exchange` at ``address(_:)``, that announced `ut_metadata` as id `10 + key`
    /// and `size` (the real size unless told; `nil` for none).
    static func peer(
        _ key: Int, size: Int? = info.count, metadata: Bool = true, canBeAsked: Bool = true, banned: Bool = false,
        rejects: Int = 0, in exchange: inout MetadataDownload
    ) -> Peer {
        exchange.connected(PeerKey(key), address: address(key))
        let extensions = ExtensionHandshake(
            extensions: metadata ? [ExtensionHandshake.utMetadata: UInt8(10 + key)] : [:], clientName: nil,
            listenPort: nil, requestQueueLength: nil, metadataSize: size)
        return Peer(
            key: PeerKey(key), handshaken: true, extensions: extensions,
            canBeAsked: canBeAsked && metadata && size != nil,
            banned: banned, rejects: rejects)
    }

    /// The pieces requested of each peer, by key; every message must be a `ut_metadata` request sent with
    /// that peer's id (`10 + key`).
    static func requested(_ requests: [(peer: PeerKey, messages: [PeerMessage])]) -> [PeerKey: [Int]] {
        var pieces: [PeerKey: [Int]] = [:]
        for (key, messages) in requests {
            for message in messages {
                guard case .extended(let id, let payload) = message, id == UInt8(10 + key.value),
                    case .request(let piece) = try? MetadataMessage.decode(payload.readableBytesView)
                else {
                    Issue.record("not a metadata request for peer \(key): \(message)")
                    continue
                }
                pieces[key, default: []].append(piece)
            }
        }
        return pieces
    }

    /// Piece `piece` of `metadata`, as a peer sends it.
    static func data(_ piece: Int, of metadata: [UInt8] = info) -> MetadataMessage {
        let start = piece * MetadataMessage.pieceLength
        let end = min(start + MetadataMessage.pieceLength, metadata.count)
        return .data(piece: piece, totalSize: metadata.count, bytes: Array(metadata[start..<end]))
    }

    @Test func piecesGoToPeersThatAnnouncedTheSizeAFewEach() {
        var exchange = Self.exchange()
        let peers = [
            Self.peer(0, in: &exchange),
            Self.peer(1, size: nil, in: &exchange),  // ut_metadata, but no metadata yet
            Self.peer(2, metadata: false, in: &exchange),  // a size without ut_metadata means nothing
            Self.peer(3, banned: true, in: &exchange),
            Self.peer(4, in: &exchange),
        ]
        #expect(exchange.pieceCount == 0)
        let first = Self.requested(exchange.requests(to: peers, now: now))
        #expect(MetadataDownload.requestsPerPeer == 2)
        #expect(first == [0: [0, 1], 4: [2, 3]])
        #expect(exchange.pieceCount == 4 && exchange.piecesDone == 0)
        // Every piece is asked of someone: nothing more goes out.
        #expect(exchange.requests(to: peers, now: now).isEmpty)
    }

    @Test func aPeerHasAtMostTwoRequestsOutstanding() throws {
        var exchange = Self.exchange()
        let peer = Self.peer(0, in: &exchange)
        #expect(Self.requested(exchange.requests(to: [peer], now: now)) == [0: [0, 1]])
        #expect(exchange.requests(to: [peer], now: now).isEmpty)
        #expect(try exchange.received(Self.data(1), from: peer) == .nothing)
        #expect(exchange.piecesDone == 1)
        // One answered: one more is asked.
        #expect(Self.requested(exchange.requests(to: [peer], now: now)) == [0: [2]])
        #expect(exchange.requests(to: [peer], now: now).isEmpty)
    }

    @Test func aPeerAnnouncingAnotherSizeIsNotAsked() {
        var exchange = Self.exchange()
        let peers = [
            Self.peer(0, size: Self.info.count + MetadataMessage.pieceLength, in: &exchange),
            Self.peer(1, in: &exchange), Self.peer(2, in: &exchange),
        ]
        #expect(Self.requested(exchange.requests(to: peers, now: now)) == [1: [0, 1], 2: [2, 3]])
        #expect(exchange.assembly?.size == Self.info.count)
    }

    @Test func aRejectedPieceIsAskedOfAnotherPeer() throws {
        var exchange = Self.exchange()
        let rejecter = Self.peer(0, in: &exchange)
        #expect(Self.requested(exchange.requests(to: [rejecter], now: now)) == [0: [0, 1]])
        #expect(try exchange.received(.reject(piece: 0), from: rejecter) == .rejected(drop: nil))
        // The fetcher rests the rejecter; another peer gets the piece it rejected.
        let resting = Self.peer(0, canBeAsked: false, rejects: 1, in: &exchange)
        let other = Self.peer(1, in: &exchange)
        #expect(Self.requested(exchange.requests(to: [resting, other], now: now)) == [1: [0, 2]])
        // The piece it still holds is not asked twice; rested, it gets the last one.
        let rested = Self.peer(0, rejects: 1, in: &exchange)
        #expect(Self.requested(exchange.requests(to: [rested, other], now: now)) == [0: [3]])
    }

    @Test func aPeerIsDroppedAtItsThirdReject() throws {
        var exchange = Self.exchange()
        var reactions: [MetadataDownload.Reaction] = []
        for rejects in 0..<MetadataDownload.rejectsToDrop {
            let peer = Self.peer(0, rejects: rejects, in: &exchange)
            _ = exchange.requests(to: [peer], now: now)
            reactions.append(try exchange.received(.reject(piece: 0), from: peer))
        }
        #expect(
            reactions == [.rejected(drop: nil), .rejected(drop: nil), .rejected(drop: "rejected 3 metadata requests")])
    }

    @Test func anExpiredRequestIsAskedOfAnotherAndALateAnswerIsTaken() throws {
        var exchange = Self.exchange()
        let slow = Self.peer(0, in: &exchange)
        #expect(Self.requested(exchange.requests(to: [slow], now: now)) == [0: [0, 1]])
        #expect(exchange.expire(now: now + Self.timeout - .milliseconds(1)).isEmpty)
        // One entry per expired request, so the fetcher counts both.
        #expect(exchange.expire(now: now + Self.timeout + .milliseconds(1)) == [0, 0])
        let later = now + Self.timeout + .milliseconds(1)
        let resting = Self.peer(0, canBeAsked: false, in: &exchange)
        let other = Self.peer(1, in: &exchange)
        #expect(Self.requested(exchange.requests(to: [resting, other], now: later)) == [1: [0, 1]])
        #expect(exchange.expire(now: later + .seconds(1)).isEmpty)
        #expect(try exchange.received(Self.data(0), from: slow) == .nothing)
        #expect(exchange.piecesDone == 1)
    }

    @Test func aPeerThatLeavesFreesItsPieces() {
        var exchange = Self.exchange()
        let leaving = Self.peer(0, in: &exchange)
        #expect(Self.requested(exchange.requests(to: [leaving], now: now)) == [0: [0, 1]])
        exchange.peerGone(0)
        let other = Self.peer(1, in: &exchange)
        #expect(Self.requested(exchange.requests(to: [other], now: now)) == [1: [0, 1]])
    }

    @Test func theMetadataIsVerifiedAndReturnedWithItsSenders() throws {
        var exchange = Self.exchange()
        let peers = [Self.peer(2, in: &exchange), Self.peer(1, in: &exchange)]
        #expect(Self.requested(exchange.requests(to: peers, now: now)) == [1: [0, 1], 2: [2, 3]])
        var reactions: [MetadataDownload.Reaction] = []
        for (piece, peer) in [(0, peers[1]), (2, peers[0]), (3, peers[0]), (1, peers[1])] {
            reactions.append(try exchange.received(Self.data(piece), from: peer))
        }
        #expect(reactions.dropLast().allSatisfy { $0 == .nothing })
        #expect(
            reactions.last == .checked(.verified(info: Self.info, sources: [Self.address(1), Self.address(2)])))
        #expect(exchange.assembly == nil && !exchange.singleSourceMode)
    }

    @Test func forgedMetadataFromOnePeerBansIt() throws {
        var exchange = Self.exchange()
        let liar = Self.peer(0, in: &exchange)
        let forged = MetadataFetchTests.forged(Self.info)
        var verdict: MetadataDownload.Reaction = .nothing
        for piece in 0..<4 {
            _ = exchange.requests(to: [liar], now: now)
            verdict = try exchange.received(Self.data(piece, of: forged), from: liar)
        }
        #expect(verdict == .checked(.ban(Self.address(0))))
        #expect(!exchange.singleSourceMode && exchange.pieceCount == 0)
        // Banned, it is not asked again; an honest peer is, from the start.
        let banned = Self.peer(0, banned: true, in: &exchange)
        let honest = Self.peer(1, in: &exchange)
        #expect(Self.requested(exchange.requests(to: [banned, honest], now: now)) == [1: [0, 1]])
    }

    @Test func forgedMetadataFromSeveralPeersAsksOnePeerAtATime() throws {
        var exchange = Self.exchange()
        let peers = [Self.peer(0, in: &exchange), Self.peer(1, in: &exchange)]
        let forged = MetadataFetchTests.forged(Self.info)
        #expect(Self.requested(exchange.requests(to: peers, now: now)) == [0: [0, 1], 1: [2, 3]])
        var reactions: [MetadataDownload.Reaction] = []
        for (piece, peer) in [(0, peers[0]), (1, peers[0]), (2, peers[1]), (3, peers[1])] {
            reactions.append(try exchange.received(Self.data(piece, of: forged), from: peer))
        }
        #expect(reactions.last == .checked(.askOneAtATime(senders: 2)))
        #expect(exchange.singleSourceMode)
        // Nobody is banned; only the first peer is asked now, for every piece in turn.
        #expect(Self.requested(exchange.requests(to: peers, now: now)) == [0: [0, 1]])
        #expect(exchange.assembly?.singleSource == 0)
        // It leaves: the next one is the single source.
        exchange.peerGone(0)
        #expect(exchange.assembly == nil)
        #expect(Self.requested(exchange.requests(to: [peers[1]], now: now)) == [1: [0, 1]])
        #expect(exchange.assembly?.singleSource == 1)
    }

    @Test func answersThatBreakTheRulesAreThePeersFault() throws {
        var exchange = Self.exchange()
        let peer = Self.peer(0, in: &exchange)
        #expect(throws: ExtensionMessageError.unrequestedMetadata(piece: 0)) {
            try exchange.received(Self.data(0), from: peer)
        }
        _ = exchange.requests(to: [peer], now: now)
        #expect(throws: ExtensionMessageError.unrequestedMetadata(piece: 2)) {
            try exchange.received(Self.data(2), from: peer)
        }
        let resized = MetadataMessage.data(
            piece: 0, totalSize: Self.info.count + 1, bytes: Array(Self.info[0..<MetadataMessage.pieceLength]))
        #expect(
            throws: ExtensionMessageError.metadataSizeChanged(announced: Self.info.count, sent: Self.info.count + 1)
        ) {
            try exchange.received(resized, from: peer)
        }
        #expect(exchange.piecesDone == 0)
    }

    @Test func anAnswerForAnOutvotedSizeIsIgnored() throws {
        var exchange = Self.exchange()
        let otherSize = Self.info.count + MetadataMessage.pieceLength
        let outvoted = Self.peer(0, size: otherSize, in: &exchange)
        let peers = [outvoted, Self.peer(1, in: &exchange), Self.peer(2, in: &exchange)]
        _ = exchange.requests(to: peers, now: now)
        let answer = MetadataMessage.data(piece: 0, totalSize: otherSize, bytes: Array(repeating: 0, count: 16_384))
        #expect(try exchange.received(answer, from: outvoted) == .nothing)
        #expect(exchange.piecesDone == 0 && exchange.assembly?.size == Self.info.count)
    }

    @Test func requestsToUsAreRejected() throws {
        var exchange = Self.exchange()
        let peer = Self.peer(3, in: &exchange)
        let reply = try exchange.received(.request(piece: 5), from: peer)
        guard case .reply(.extended(13, let payload)) = reply else {
            Issue.record("no reject sent with the peer's id: \(reply)")
            return
        }
        #expect(try MetadataMessage.decode(payload.readableBytesView) == .reject(piece: 5))
        // A peer without ut_metadata cannot be answered.
        let silent = Self.peer(4, metadata: false, in: &exchange)
        #expect(try exchange.received(.request(piece: 5), from: silent) == .nothing)
    }
}
