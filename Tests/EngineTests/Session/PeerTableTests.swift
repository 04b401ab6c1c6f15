import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

/// The peers of a session: fresh keys, lookups, changes in place, and the counts status and the
/// choker read.
@Suite struct PeerTableTests {
    static func slot(_ key: PeerKey, port: UInt16, channel: EmbeddedChannel = EmbeddedChannel()) -> PeerSlot {
        let now = ContinuousClock.now
        return PeerSlot(
            key: key, address: PeerAddress(host: .ipv4(127, 0, 0, 1), port: port), source: .manual,
            channel: channel, outbox: PeerOutbox(budget: PeerMemoryBudget()), connectedAt: now,
            machine: PeerConnectionStateMachine(configuration: .init(pieceCount: 4, pieceLength: 16_384)),
            lastMessageAt: now, lastKeepAliveSent: now)
    }

    @Test func keysAreNeverReused() {
        var table = PeerTable()
        let first = table.admit { Self.slot($0, port: 1) }
        let second = table.admit { Self.slot($0, port: 2) }
        #expect(first != second)
        #expect(table.remove(first)?.address.port == 1)
        let third = table.admit { Self.slot($0, port: 3) }
        #expect(third != first && third != second)
        #expect(Set(table.keys) == [second, third])
        #expect(table.count == 2 && !table.isEmpty)
        #expect(table[first] == nil && table[third]?.address.port == 3)
    }

    @Test func changesInPlaceAndTakenOutAndBack() {
        var table = PeerTable()
        let key = table.admit { Self.slot($0, port: 1) }
        table[key]?.downloadedUnsaved += 5
        #expect(table[key]?.downloadedUnsaved == 5)
        // A change of a peer that is gone adds nothing.
        table[PeerKey(99)]?.downloadedUnsaved = 1
        #expect(table.count == 1 && table[PeerKey(99)] == nil)

        guard var slot = table.take(key) else {
            Issue.record("the admitted peer is not in the table")
            return
        }
        #expect(table.isEmpty && table[key] == nil)
        slot.hashFailuresUnsaved = 2
        table.putBack(slot)
        #expect(table[key]?.hashFailuresUnsaved == 2 && table[key]?.downloadedUnsaved == 5)
        #expect(table.remove(key) != nil && table.remove(key) == nil && table.isEmpty)
    }

    @Test func findsPeersByAddressAndPeerId() {
        var table = PeerTable()
        let first = table.admit { Self.slot($0, port: 1) }
        let second = table.admit { Self.slot($0, port: 2) }
        #expect(table.key(of: PeerAddress(host: .ipv4(127, 0, 0, 1), port: 2)) == second)
        #expect(table.key(of: PeerAddress(host: .ipv4(127, 0, 0, 1), port: 3)) == nil)

        let id = [UInt8](repeating: 7, count: 20)
        table[first]?.peerId = id
        // Not yet past its handshake: it does not count as connected under that id.
        #expect(!table.hasHandshaken(peerId: id, besides: second))
        table[first]?.handshaken = true
        #expect(table.hasHandshaken(peerId: id, besides: second))
        #expect(!table.hasHandshaken(peerId: id, besides: first))
    }

    @Test func countsHandshakenAndUnchokedPeers() {
        var table = PeerTable()
        let keys = (1...3).map { port in table.admit { Self.slot($0, port: UInt16(port)) } }
        #expect(table.handshakenCount == 0 && table.unchokedCount == 0)
        table[keys[0]]?.handshaken = true
        table[keys[1]]?.handshaken = true
        _ = table[keys[1]]?.machine.unchoke()
        _ = table[keys[2]]?.machine.unchoke()
        #expect(table.handshakenCount == 2 && table.unchokedCount == 2)
        _ = table[keys[2]]?.machine.choke()
        table.remove(keys[0])
        #expect(table.handshakenCount == 1 && table.unchokedCount == 1)
        #expect(Set(table.map { $0.key }) == [keys[1], keys[2]])
    }

    @Test func closingConnectionsClosesEveryChannelAndLeavesTheSlots() throws {
        var table = PeerTable()
        let channels = [EmbeddedChannel(), EmbeddedChannel()]
        for channel in channels {
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            _ = table.admit { Self.slot($0, port: 1, channel: channel) }
        }
        let activeBefore = channels.filter { $0.isActive }.count
        table.closeConnections()
        let activeAfter = channels.filter { $0.isActive }.count
        #expect(activeBefore == 2 && activeAfter == 0)
        // The slots go when their connections' ends are reported (peerClosed), not here.
        #expect(table.count == 2)
    }
}
