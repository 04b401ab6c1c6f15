import NIOCore
import Testing

@testable import Engine

/// Uploading's decisions: choker rounds when due, who is served, and how much may wait in an outbox.
@Suite(.timeLimit(.minutes(1))) struct SessionUploadsTests {
    @Test func aChokerRoundRunsOnlyWhenDueAndCoversTheHandshakenPeers() {
        var swarm = SessionSwarmTests.swarm()
        let (interested, _) = SessionSwarmTests.admit(&swarm, port: 1)
        let (quiet, _) = SessionSwarmTests.admit(&swarm, port: 2)
        _ = SessionSwarmTests.admit(&swarm, port: 3, handshaken: false)
        _ = swarm.received(.interested, from: interested, now: .now)
        var uploads = SessionUploads(configuration: SessionConfiguration(listenPort: 1))
        let start = uploads.lastRechoke
        #expect(uploads.rechokeIfDue(now: start + .seconds(1), swarm: &swarm) == nil)
        let round = uploads.rechokeIfDue(now: start + uploads.rechokeInterval, swarm: &swarm)
        let decisions = Dictionary(uniqueKeysWithValues: (round ?? []).map { ($0.0, $0.choked) })
        #expect(decisions.count == 2, "only handshaken peers take part")
        #expect(decisions[interested] == false)
        #expect(decisions[quiet] == true)
        #expect(uploads.rechokeIfDue(now: start + uploads.rechokeInterval + .seconds(1), swarm: &swarm) == nil)
    }

    @Test func aPeerIsServedByOneTaskAndNotPastItsOutboxShare() {
        var swarm = SessionSwarmTests.swarm()
        _ = swarm.picker.pieceVerified(PieceIndex(0))
        let (key, _) = SessionSwarmTests.admit(&swarm, port: 1)
        let uploads = SessionUploads(configuration: SessionConfiguration(listenPort: 1))
        _ = swarm.received(.interested, from: key, now: .now)
        uploads.setChoked(false, key, in: &swarm.peers, now: .now)
        #expect(!uploads.startServing(key, in: &swarm.peers), "nothing asked yet")
        let request = BlockRequest(piece: PieceIndex(0), begin: 0, length: 16_384)
        _ = swarm.received(.request(request), from: key, now: .now)
        #expect(uploads.startServing(key, in: &swarm.peers))
        #expect(!uploads.startServing(key, in: &swarm.peers), "one serving task per peer")
        // An outbox holding its share of piece data waits for the writer.
        swarm.peers[key]?.upload.queuedBytes = uploads.maxQueuedBytes
        #expect(uploads.nextUploads(key, in: &swarm.peers, closing: false).isEmpty)
        #expect(swarm.peers[key]?.upload.serving == false)
        swarm.peers[key]?.upload.queuedBytes = 0
        #expect(uploads.nextUploads(key, in: &swarm.peers, closing: true).isEmpty, "nothing is served while closing")
        #expect(uploads.startServing(key, in: &swarm.peers))
        #expect(uploads.nextUploads(key, in: &swarm.peers, closing: false) == [request])
        // Choked meanwhile: the block read is not sent.
        uploads.setChoked(true, key, in: &swarm.peers, now: .now)
        uploads.blockRead(request, ByteBuffer(repeating: 1, count: 16_384), for: key, in: &swarm.peers)
        #expect(swarm.peers[key]?.upload.queuedBytes == 0)
    }

    @Test func aServingTaskTakesTheOldestRequestsItsOutboxHasRoomFor() {
        var swarm = SessionSwarmTests.swarm()
        _ = swarm.picker.pieceVerified(PieceIndex(0))
        _ = swarm.picker.pieceVerified(PieceIndex(1))
        let (key, _) = SessionSwarmTests.admit(&swarm, port: 1)
        let uploads = SessionUploads(configuration: SessionConfiguration(listenPort: 1))
        _ = swarm.received(.interested, from: key, now: .now)
        uploads.setChoked(false, key, in: &swarm.peers, now: .now)
        let requests = [(1, 16_384), (0, 0), (0, 16_384), (1, 0)].map {
            BlockRequest(piece: PieceIndex($0), begin: UInt32($1), length: 16_384)
        }
        for request in requests { _ = swarm.received(.request(request), from: key, now: .now) }
        #expect(uploads.startServing(key, in: &swarm.peers))
        #expect(uploads.nextUploads(key, in: &swarm.peers, closing: false) == requests, "all, oldest first")
        swarm.peers[key]?.upload.queuedBytes = uploads.maxQueuedBytes - 2 * 16_384
        #expect(uploads.nextUploads(key, in: &swarm.peers, closing: false) == Array(requests[0..<2]))
        swarm.peers[key]?.upload.queuedBytes = uploads.maxQueuedBytes - 1
        #expect(uploads.nextUploads(key, in: &swarm.peers, closing: false) == [requests[0]], "at least one")
        uploads.blockRead(requests[0], ByteBuffer(repeating: 1, count: 16_384), for: key, in: &swarm.peers)
        swarm.peers[key]?.upload.queuedBytes = 0
        #expect(uploads.nextUploads(key, in: &swarm.peers, closing: false) == Array(requests[1...]), "sent: gone")
    }
}
