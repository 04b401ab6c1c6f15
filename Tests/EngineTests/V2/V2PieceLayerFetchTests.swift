import Foundation
import Testing

@testable import Engine

/// Fetching a v2 magnet's piece layers (``V2PieceLayerFetch``) from peers answering with
/// ``V2HashServer``: every chunk proved against its file's root, liars named, refusers passed over.
@Suite(.timeLimit(.minutes(5)))
struct V2PieceLayerFetchTests {
    /// A torrent of one file of `length` bytes, and its info dictionary alone (as a magnet gets it).
    static func torrent(length: Int, pieceLength: Int) throws -> (full: Metainfo, bare: Metainfo) {
        let (full, _) = try V2HashTreeTests.torrent(length: length, pieceLength: pieceLength)
        let bare = try Metainfo(fetchedInfo: Array(full.infoBytes), trackers: [])
        return (full, bare)
    }

    /// Runs the fetch against `server` for `peers` until nothing is left to ask; a peer named a liar is
    /// asked no more (the fetcher bans it).
    static func run(
        _ fetch: inout V2PieceLayerFetch, _ server: inout V2HashServer, peers: [PeerKey],
        tamper: (PeerKey, HashMessage) -> HashMessage = { $1 }
    ) -> [V2PieceLayerFetch.Reaction] {
        var reactions: [V2PieceLayerFetch.Reaction] = []
        var peers = peers
        for _ in 0..<100 {
            let requests = fetch.requests(to: peers, now: .now)
            if requests.isEmpty { break }
            for (peer, request) in requests {
                let reaction = fetch.received(tamper(peer, server.answer(request).reply), from: peer)
                if case .lied = reaction { peers.removeAll { $0 == peer } }
                reactions.append(reaction)
            }
        }
        return reactions
    }

    /// Files of 19 pieces, of 513 (two chunks, the second of one piece asked as two) and of 530: the
    /// layers come back whole, equal to the torrent's, and stored in the torrent made of the info
    /// dictionary they parse as its own.
    @Test(arguments: [19, 513, 530])
    func layersAreFetchedAndProved(pieces: Int) throws {
        let (full, bare) = try Self.torrent(length: pieces * 16_384 - 5, pieceLength: 16_384)
        #expect(bare.pieceLayers.isEmpty)
        #expect(V2PieceLayerFetch(metainfo: full) == nil, "nothing lacks")
        var fetch = try #require(V2PieceLayerFetch(metainfo: bare))
        #expect(fetch.chunksLeft == (pieces + 511) / 512)
        var server = try #require(V2HashServer(metainfo: full))
        let reactions = Self.run(&fetch, &server, peers: [PeerKey(1), PeerKey(2)])
        #expect(reactions.allSatisfy { $0 == .nothing })
        #expect(fetch.isComplete)
        #expect(fetch.pieceLayers == full.pieceLayers)
        let rebuilt = try Metainfo(fetchedInfo: Array(full.infoBytes), trackers: [], pieceLayers: fetch.pieceLayers)
        #expect(rebuilt.pieceLayers == full.pieceLayers && rebuilt.infoHashes == full.infoHashes)
        #expect(try V2PieceRoots(metainfo: rebuilt) != nil)
    }

    /// A peer whose hashes do not prove out (one piece hash changed, an uncle changed, an uncle
    /// missing) is named a liar and its chunk asked again of another peer; a peer that rejects is
    /// asked no more; one that lets a request expire neither.
    @Test func liarsRefusersAndLatePeers() throws {
        let (full, bare) = try Self.torrent(length: 530 * 16_384, pieceLength: 16_384)
        var server = try #require(V2HashServer(metainfo: full))
        for damage in [0, 512 * 32 + 5, -32] {
            var fetch = try #require(V2PieceLayerFetch(metainfo: bare))
            let liar = PeerKey(1)
            let reactions = Self.run(&fetch, &server, peers: [liar, PeerKey(2)]) { peer, message in
                guard peer == liar, case .hashes(let request, var hashes) = message else { return message }
                if damage < 0 { hashes.removeLast(32) } else if damage < hashes.count { hashes[damage] ^= 1 }
                return .hashes(request, hashes: hashes)
            }
            #expect(reactions.contains { if case .lied = $0 { true } else { false } }, "damage at \(damage)")
            #expect(fetch.isComplete && fetch.pieceLayers == full.pieceLayers, "the honest peer's layers")
        }

        var fetch = try #require(V2PieceLayerFetch(metainfo: bare))
        let first = fetch.requests(to: [PeerKey(1)], now: .now)
        #expect(first.count == 2 && first.allSatisfy { $0.0 == PeerKey(1) })
        #expect(fetch.received(.reject(first[0].1), from: PeerKey(1)) == .nothing)
        #expect(fetch.refusing == [PeerKey(1)])
        #expect(fetch.requests(to: [PeerKey(1)], now: .now).isEmpty, "a refuser is asked no more")
        let again = fetch.requests(to: [PeerKey(1), PeerKey(3)], now: .now)
        #expect(again.map(\.0) == [PeerKey(3)] && again[0].1 == first[0].1)
        // Hashes from a peer not asked for that chunk are not taken.
        #expect(fetch.received(server.answer(first[0].1).reply, from: PeerKey(9)) == .nothing)
        #expect(fetch.chunksLeft == 2)
        let late = fetch.expire(now: .now + .seconds(60))
        #expect(Set(late) == [PeerKey(1), PeerKey(3)])
        #expect(fetch.requests(to: [PeerKey(1), PeerKey(3)], now: .now).isEmpty)
        let rest = fetch.requests(to: [PeerKey(4)], now: .now)
        #expect(rest.count == 2)
        for (peer, request) in rest { #expect(fetch.received(server.answer(request).reply, from: peer) == .nothing) }
        #expect(fetch.isComplete && fetch.pieceLayers == full.pieceLayers)
    }
}
