import Testing

@testable import Engine

/// A connected peer's record for the peer history: who it is and the counters not recorded yet, each
/// recorded once.
@Suite struct PeerSlotTests {
    @Test func aRecordCarriesTheCountersNotRecordedYet() {
        var slot = PeerTableTests.slot(0, port: 6881)
        #expect(!slot.hasUnsavedCounters)
        slot.downloadedUnsaved = 100
        slot.upload.uploadedUnsaved = 30
        slot.hashFailuresUnsaved = 1
        #expect(slot.hasUnsavedCounters)
        let record = slot.record(torrentId: 7, banned: true)
        #expect(record.torrentId == 7 && record.address == "127.0.0.1" && record.port == 6881)
        #expect(record.source == .manual && record.banned == true)
        #expect(record.downloadedDelta == 100 && record.uploadedDelta == 30 && record.hashFailuresDelta == 1)

        slot.countersRecorded()
        #expect(!slot.hasUnsavedCounters)
        let next = slot.record(torrentId: 7)
        #expect(next.downloadedDelta == 0 && next.uploadedDelta == 0 && next.hashFailuresDelta == 0)
        #expect(next.banned == nil)
    }

    @Test func theClientIsNamedByItsExtensionHandshakeFirst() {
        var slot = PeerTableTests.slot(0, port: 6881)
        #expect(slot.record(torrentId: 1).client == nil && slot.record(torrentId: 1).peerId == nil)
        let peerId = Array("-qB4600-".utf8) + [UInt8](repeating: 0x41, count: 12)
        slot.peerId = peerId
        let fromPeerId = slot.record(torrentId: 1).client
        #expect(fromPeerId != nil && fromPeerId == PeerID.clientName(peerId))
        #expect(slot.record(torrentId: 1).peerId == peerId)
        slot.extensions.handshake = ExtensionHandshake(clientName: "Some Client 1.0")
        #expect(slot.record(torrentId: 1).client == "Some Client 1.0")
    }
}
