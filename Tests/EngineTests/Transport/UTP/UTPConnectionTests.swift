import NIOCore
import Testing

@testable import Engine

/// The uTP connection value driven against another through a simulated lossy, reordering link.
@Suite struct UTPConnectionTests {
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// Where two byte arrays first differ (or their lengths, when one is a prefix), nil when equal;
    /// a cheap report where `==` on megabytes would make the test library diff them.
    static func mismatch(_ got: [UInt8], _ expected: [UInt8]) -> String? {
        if let index = (0..<min(got.count, expected.count)).first(where: { got[$0] != expected[$0] }) {
            return "first difference at byte \(index) of \(got.count)"
        }
        return got.count == expected.count ? nil : "\(got.count) bytes, expected \(expected.count)"
    }

    /// Both directions at once, exact, with 2% loss and 5% reordering; the sequence numbers start
    /// just below the 16-bit wrap so they wrap mid-transfer.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func lossyReorderingTransferArrivesExact(seed: UInt64) {
        let up = Self.randomBytes(1_500_000, seed: seed)
        let down = Self.randomBytes(300_000, seed: seed + 100)
        var link = UTPLink(seed: seed, loss: 20, reorder: 50, initiatorSequence: 0xfff0, responderSequence: 0xff00)
        link.send(up, from: 0)
        link.send(down, from: 1)
        link.run(until: 600_000_000) { $0.received[1].count == up.count && $0.received[0].count == down.count }
        #expect(Self.mismatch(link.received[1], up) == nil)
        #expect(Self.mismatch(link.received[0], down) == nil)
        #expect(link.events[0].first == .connected)
        #expect(link.events[1].first == .connected)
        // The initiator ends; the responder sees the FIN after the last byte and ends too (as
        // its channel does).
        link.initiator.close(now: link.now)
        link.collect()
        link.run(until: link.now + 60_000_000) { $0.events[1].contains(.peerFinished) }
        #expect(link.events[1].contains(.peerFinished))
        link.responder?.close(now: link.now)
        link.collect()
        link.run(until: link.now + 60_000_000) { $0.initiator.isClosed && $0.responder?.isClosed == true }
        #expect(link.events[0].contains(.closed))
        #expect(link.events[1].contains(.closed))
        for events in link.events {
            #expect(!events.contains { if case .failed = $0 { true } else { false } })
        }
    }

    /// The responder closes before the initiator spoke (a silent connection closed by the listener):
    /// it cannot send a FIN, so it resets, and the initiator learns at once.
    @Test func closingBeforeTheInitiatorSpokeResetsIt() {
        var link = UTPLink(seed: 5)
        link.run(until: link.now + 1_000_000) { $0.events[0].contains(.connected) }
        #expect(link.events[0] == [.connected])
        link.responder?.close(now: link.now)
        link.collect()
        link.run(until: link.now + 1_000_000) { $0.initiator.isClosed }
        #expect(link.responder?.isClosed == true)
        #expect(link.events[0].last == .failed(.resetByPeer))
    }

    /// A clean link needs no retransmission: the datagrams sent are the data packets plus acks.
    @Test func cleanLinkSendsNoDuplicates() {
        let data = Self.randomBytes(700_000, seed: 9)
        var link = UTPLink(seed: 9)
        link.send(data, from: 0)
        link.run(until: 60_000_000) { $0.received[1].count == data.count }
        #expect(Self.mismatch(link.received[1], data) == nil)
        let dataPackets = (data.count + 1399) / 1400
        // One SYN, the data, and at most one ack per data packet back.
        #expect(link.datagramsSent <= 1 + 2 * dataPackets + 2)
        #expect(link.initiator.timeouts == 0)
    }

    /// Both sides told each other they read 65,000-byte datagrams (a loopback path): data packets grow
    /// to ``UTPConfiguration/loopbackPayload`` both ways, and both directions arrive exact, on a clean
    /// link and on a lossy, reordering one (resent packets keep their size).
    @Test(arguments: [(0, 0), (20, 50)] as [(Int, Int)])
    func largePacketsWhenBothSaySo(loss: Int, reorder: Int) {
        let up = Self.randomBytes(1_500_000, seed: 31)
        let down = Self.randomBytes(400_000, seed: 32)
        var link = UTPLink(seed: 31, loss: loss, reorder: reorder, readLimits: (65_000, 65_000))
        link.send(up, from: 0)
        link.send(down, from: 1)
        link.run(until: 600_000_000) { $0.received[1].count == up.count && $0.received[0].count == down.count }
        #expect(Self.mismatch(link.received[1], up) == nil)
        #expect(Self.mismatch(link.received[0], down) == nil)
        let payload = link.configuration.loopbackPayload
        #expect(link.initiator.payloadSize == payload)
        #expect(link.responder?.payloadSize == payload)
        #expect(link.longestDatagram[0] > payload)
        #expect(link.longestDatagram[0] <= payload + UTPConnection.headerRoom)
        #expect(link.longestDatagram[1] > payload)
    }

    /// Packets grow only where both sides said: a peer that says nothing (libtorrent, which reads
    /// 1,500 bytes at most) gets ``UTPConfiguration/maxPayload``, and so does a peer we told nothing
    /// (not a loopback path), whatever it says. A limit is kept to, less room for the header, and one
    /// below the default changes nothing.
    @Test(
        arguments: [
            (65_000, nil, 1400, 1400), (nil, 65_000, 1400, 1400),
            (4096, 4096, 4096 - UTPConnection.headerRoom, 4096 - UTPConnection.headerRoom),
            (65_000, 2000, 2000 - UTPConnection.headerRoom, UTPConfiguration().loopbackPayload),
            (1000, 1000, 1400, 1400),
        ] as [(UInt16?, UInt16?, Int, Int)])
    func payloadFollowsWhatWasSaid(initiator: UInt16?, responder: UInt16?, initiatorSends: Int, responderSends: Int) {
        let data = Self.randomBytes(300_000, seed: 33)
        var link = UTPLink(seed: 33, readLimits: (initiator, responder))
        link.send(data, from: 0)
        link.send(data, from: 1)
        link.run(until: 60_000_000) { $0.received[1].count == data.count && $0.received[0].count == data.count }
        #expect(Self.mismatch(link.received[1], data) == nil)
        #expect(Self.mismatch(link.received[0], data) == nil)
        #expect(link.initiator.payloadSize == initiatorSends)
        #expect(link.responder?.payloadSize == responderSends)
        for (side, sends) in [initiatorSends, responderSends].enumerated() {
            #expect(link.longestDatagram[side] <= sends + UTPConnection.headerRoom)
            #expect(link.longestDatagram[side] > sends)
        }
    }

    /// A SYN nobody answers is sent three times (0 s, 1 s, 3 s) and the connection fails at 7 s.
    @Test func unansweredSYNTimesOut() {
        var connection = UTPConnection(connectingWith: 5, sequence: 1, now: 0)
        var syns = connection.takeOutput(now: 0).datagrams.count
        var failedAt: UInt64?
        var events: [UTPConnection.Event] = []
        while let deadline = connection.deadline {
            connection.tick(now: deadline)
            let output = connection.takeOutput(now: deadline)
            syns += output.datagrams.count
            events += output.events
            if connection.isClosed { failedAt = deadline }
        }
        #expect(syns == 3)
        #expect(events == [.failed(.handshakeTimedOut)])
        #expect(failedAt == 7_000_000)
    }

    /// An accepted connection whose initiator never speaks again is dropped after 10 s, silently.
    @Test func acceptedButSilentTimesOut() {
        let syn = UTPPacket(type: .syn, connectionID: 10, sequenceNumber: 3, ackNumber: 0)
        var connection = UTPConnection(accepting: syn, sequence: 77, now: 0)
        let state = connection.takeOutput(now: 0).datagrams
        #expect(state.count == 1)
        let reply = try? UTPPacket(decoding: state[0])
        #expect(reply?.type == .state)
        #expect(reply?.connectionID == 10)
        #expect(reply?.ackNumber == 3)
        #expect(connection.receiveID == 11)
        connection.tick(now: connection.deadline!)
        #expect(connection.takeOutput(now: 10_000_000).events == [.failed(.handshakeTimedOut)])
        #expect(connection.deadline == nil)
    }

    /// A flood of repeated SYNs to an accepted connection costs one ST_STATE per batch.
    @Test func repeatedSYNsAnsweredOncePerBatch() {
        let syn = UTPPacket(type: .syn, connectionID: 10, sequenceNumber: 3, ackNumber: 0)
        var connection = UTPConnection(accepting: syn, sequence: 77, now: 0)
        _ = connection.takeOutput(now: 0)
        for _ in 0..<10_000 { connection.receive(syn, now: 1) }
        #expect(connection.takeOutput(now: 1).datagrams.count == 1)
    }

    /// A receiver that does not consume keeps the sender within its window; once it consumes, the
    /// connection says that the peer is owed the news (its owner must send it: nothing else will),
    /// and the transfer resumes and completes exact.
    @Test func receiveWindowHonoured() {
        let data = Self.randomBytes(3_000_000, seed: 4)
        var link = UTPLink(seed: 4)
        link.consuming[1] = false
        link.send(data, from: 0)
        link.run(until: 5_000_000)
        let held = link.received[1].count
        #expect(held > 0)
        #expect(held <= link.configuration.receiveBuffer + link.configuration.maxPayload)
        #expect(link.responder!.advertisedWindow < link.configuration.maxPayload)
        link.consuming[1] = true
        #expect(link.responder?.consumed(held / 2) == true)
        #expect(link.responder?.consumed(held - held / 2) == true)
        link.collect()
        #expect(link.responder?.consumed(0) == false)
        link.run(until: 120_000_000) { $0.received[1].count == data.count }
        #expect(Self.mismatch(link.received[1], data) == nil)
    }

    /// Whatever a peer advertises, no more than the send buffer is ever in flight, and no more
    /// than the reorder limit of packets.
    @Test func hugeWindowStillBounded() {
        var connection = UTPConnection(connectingWith: 1, sequence: 100, now: 0)
        _ = connection.takeOutput(now: 0)
        connection.receive(
            UTPPacket(type: .state, connectionID: 1, windowSize: .max, sequenceNumber: 500, ackNumber: 100), now: 1)
        var bytes = ByteBuffer(bytes: [UInt8](repeating: 1, count: 8 << 20))
        let accepted = connection.write(&bytes, now: 1)
        #expect(accepted == connection.configuration.sendBuffer)
        for step in 0..<200 {
            // Acks of everything sent, with no delay: slow start grows the window as far as it may.
            let output = connection.takeOutput(now: 2 + UInt64(step) * 1000)
            #expect(connection.bytesInFlight <= connection.configuration.sendBuffer)
            #expect(connection.sent.count < connection.configuration.maxReorderPackets)
            guard let last = output.datagrams.last.flatMap({ try? UTPPacket(decoding: $0) }) else { break }
            connection.receive(
                UTPPacket(
                    type: .state, connectionID: 1, timestampDifference: 1000, windowSize: .max, sequenceNumber: 500,
                    ackNumber: last.sequenceNumber), now: 3 + UInt64(step) * 1000)
        }
        #expect(connection.bytesUnacked == 0)
    }

    /// Garbage addressed to an established connection: wild sequence and ack numbers, windows,
    /// selective acks, payload sizes. Buffers stay within their limits and nothing traps.
    @Test(arguments: [11, 12] as [UInt64])
    func hostilePacketsStayBounded(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let syn = UTPPacket(type: .syn, connectionID: 10, sequenceNumber: 3, ackNumber: 0)
        var connection = UTPConnection(accepting: syn, sequence: 77, now: 0)
        var data = ByteBuffer(bytes: [UInt8](repeating: 2, count: 200_000))
        connection.write(&data, now: 0)
        var now: UInt64 = 0
        for _ in 0..<30_000 {
            now += UInt64(random.next(below: 5000))
            let type = [UTPPacketType.data, .state, .fin, .syn][random.next(below: 4)]
            let near = random.next(below: 2) == 0
            let sequence =
                near
                ? connection.ackNumber &+ UInt16(random.next(below: 1200)) : UInt16(truncatingIfNeeded: random.next())
            let ack =
                near
                ? connection.oldestUnacked &+ UInt16(random.next(below: 100))
                : UInt16(truncatingIfNeeded: random.next())
            let mask =
                random.next(below: 3) == 0
                ? (0..<(4 * (1 + random.next(below: 32)))).map { _ in UInt8(truncatingIfNeeded: random.next()) } : nil
            let payload = type == .data ? ByteBuffer(repeating: 7, count: random.next(below: 1500)) : ByteBuffer()
            connection.receive(
                UTPPacket(
                    type: type, connectionID: 11, timestamp: UInt32(truncatingIfNeeded: random.next()),
                    timestampDifference: UInt32(truncatingIfNeeded: random.next()),
                    windowSize: UInt32(truncatingIfNeeded: random.next()), sequenceNumber: sequence, ackNumber: ack,
                    selectiveAck: mask, payload: payload), now: now)
            if random.next(below: 50) == 0, let deadline = connection.deadline {
                connection.tick(now: max(now, deadline))
            }
            let output = connection.takeOutput(now: now)
            let delivered = output.delivered.reduce(0) { $0 + $1.readableBytes }
            connection.consumed(delivered)
            #expect(connection.reorder.count <= connection.configuration.maxReorderPackets)
            #expect(connection.reorderBytes <= connection.configuration.receiveBuffer)
            #expect(connection.bytesUnacked <= connection.configuration.sendBuffer)
            #expect(connection.bytesInFlight >= 0 && connection.bytesInFlight <= connection.bytesUnacked)
            #expect(output.datagrams.count <= connection.configuration.maxReorderPackets + 2)
            if connection.isClosed { break }
        }
    }

    /// A lost packet is resent after three packets past it are acked selectively, before any timeout.
    @Test func fastRetransmitOnSelectiveAck() throws {
        var connection = UTPConnection(connectingWith: 1, sequence: 100, now: 0)
        _ = connection.takeOutput(now: 0)
        connection.receive(
            UTPPacket(type: .state, connectionID: 1, windowSize: 1 << 20, sequenceNumber: 500, ackNumber: 100), now: 1)
        // Six packets' worth: the first window (two packets) goes out and is acked, slow start
        // doubles the window, and the next four go out together.
        var bytes = ByteBuffer(repeating: 3, count: 6 * 1400)
        connection.write(&bytes, now: 1)
        let first = connection.takeOutput(now: 1).datagrams.compactMap { try? UTPPacket(decoding: $0) }
        #expect(first.count == 2)
        connection.receive(
            UTPPacket(
                type: .state, connectionID: 1, timestampDifference: 100, windowSize: 1 << 20, sequenceNumber: 500,
                ackNumber: first.last!.sequenceNumber), now: 10)
        let burst = connection.takeOutput(now: 11).datagrams.compactMap { try? UTPPacket(decoding: $0) }
        #expect(burst.count == 4)
        let lost = burst[0].sequenceNumber
        // The receiver got all but the first: ack_nr = lost - 1, bits for lost+1, lost+2, lost+3.
        connection.receive(
            UTPPacket(
                type: .state, connectionID: 1, timestampDifference: 100, windowSize: 1 << 20, sequenceNumber: 500,
                ackNumber: lost &- 1, selectiveAck: [0b0000_0111, 0, 0, 0]), now: 20)
        let resent = connection.takeOutput(now: 20).datagrams.compactMap { try? UTPPacket(decoding: $0) }
        #expect(resent.contains { $0.type == .data && $0.sequenceNumber == lost })
        #expect(connection.timeouts == 0)
    }

    /// A connection writing 20 packets' worth whose acks grew its window (slow start) until a burst of at
    /// least five went out: the connection, that burst, and the time.
    static func connectionSendingABurst() throws -> (UTPConnection, [UTPPacket], UInt64) {
        var connection = UTPConnection(connectingWith: 1, sequence: 100, now: 0)
        _ = connection.takeOutput(now: 0)
        connection.receive(
            UTPPacket(type: .state, connectionID: 1, windowSize: 1 << 20, sequenceNumber: 500, ackNumber: 100), now: 1)
        var bytes = ByteBuffer(repeating: 5, count: 20 * 1400)
        connection.write(&bytes, now: 1)
        var now: UInt64 = 1
        var burst: [UTPPacket] = connection.takeOutput(now: now).datagrams.compactMap { try? UTPPacket(decoding: $0) }
        while burst.count < 5 {
            now += 10
            connection.receive(
                UTPPacket(
                    type: .state, connectionID: 1, timestampDifference: 100, windowSize: 1 << 20,
                    sequenceNumber: 500, ackNumber: try #require(burst.last).sequenceNumber), now: now)
            burst = connection.takeOutput(now: now + 1).datagrams.compactMap { try? UTPPacket(decoding: $0) }
            try #require(!burst.isEmpty)
        }
        return (connection, burst, now)
    }

    /// Several packets lost from one burst (a receive socket that overflowed) are all resent on the
    /// first selective ack that shows three later packets arrived, not one per ack.
    @Test func everyHoleBehindThreeSelectiveAcksIsResent() throws {
        var (connection, burst, now) = try Self.connectionSendingABurst()
        let first = burst[0].sequenceNumber
        // The first two of the burst are lost; the rest arrived: bits from first + 2 on.
        let arrived = burst.count - 2
        var mask = [UInt8](repeating: 0, count: 4)
        for bit in 1...arrived where bit < 32 { mask[bit / 8] |= 1 << (bit % 8) }
        now += 10
        connection.receive(
            UTPPacket(
                type: .state, connectionID: 1, timestampDifference: 100, windowSize: 1 << 20, sequenceNumber: 500,
                ackNumber: first &- 1, selectiveAck: mask), now: now)
        let resent = connection.takeOutput(now: now).datagrams.compactMap { try? UTPPacket(decoding: $0) }
        let resentSequences = Set(resent.filter { $0.type == .data }.map(\.sequenceNumber))
        #expect(resentSequences.contains(first) && resentSequences.contains(first &+ 1))
        #expect(connection.timeouts == 0)
    }

    /// What stalled seeding to libtorrent over uTP under load: packets of a burst were lost, the
    /// retransmission timer resent the oldest, and libtorrent's acks carried selective acks of a
    /// length that is not a multiple of 4 bytes. Read from the wire, such an ack moves the sender on:
    /// the oldest is acked, the hole behind it is resent at once, and the timeouts start over.
    @Test func libtorrentAckAfterTimeoutResendsTheNextHole() throws {
        var (connection, burst, now) = try Self.connectionSendingABurst()
        let first = burst[0].sequenceNumber
        // Nothing of the burst is acked in time: the timer resends the oldest only (window one packet).
        now = try #require(connection.deadline)
        connection.tick(now: now)
        let resent = connection.takeOutput(now: now).datagrams.compactMap { try? UTPPacket(decoding: $0) }
        #expect(resent.map(\.sequenceNumber) == [first])
        #expect(connection.timeouts == 1)
        // libtorrent got the resent one and all of the burst but the second: ack_nr = first, bits
        // from first + 2 on, in as many bytes as it takes (here one), as libtorrent sends them.
        var mask: UInt8 = 0
        for bit in 0..<min(burst.count - 2, 8) { mask |= 1 << bit }
        let ack = UTPPacket(
            type: .state, connectionID: 1, timestampDifference: 100, windowSize: 1 << 20, sequenceNumber: 500,
            ackNumber: first, selectiveAck: [mask]
        ).encoded()
        #expect(ack.readableBytes == UTPPacket.headerLength + 3)
        now += 10
        connection.receive(try UTPPacket(decoding: ack), now: now)
        let next = connection.takeOutput(now: now).datagrams.compactMap { try? UTPPacket(decoding: $0) }
        // The hole first, and nothing libtorrent already holds (new data may follow in the window).
        let sequences = next.filter { $0.type == .data }.map(\.sequenceNumber)
        #expect(sequences.first == first &+ 1)
        #expect(Set(sequences).isDisjoint(with: burst.dropFirst(2).map(\.sequenceNumber)))
        #expect(connection.timeouts == 0)
        #expect(connection.oldestUnacked == first &+ 1)
    }

    /// RFC 6298 with a 500 ms floor; each timeout doubles the RTO; after too many the connection fails.
    @Test func retransmissionTimeoutAndGivingUp() {
        // The count alone: the unacked timeout (see below) would end it first.
        var configuration = UTPConfiguration()
        configuration.unackedTimeout = configuration.idleTimeout
        var connection = UTPConnection(connectingWith: 1, sequence: 100, now: 0, configuration: configuration)
        _ = connection.takeOutput(now: 0)
        connection.receive(
            UTPPacket(type: .state, connectionID: 1, windowSize: 1 << 20, sequenceNumber: 500, ackNumber: 100),
            now: 20_000)
        #expect(connection.congestion.smoothedRTT == 20_000)
        #expect(connection.congestion.rto == 500_000)
        var bytes = ByteBuffer(repeating: 3, count: 100)
        connection.write(&bytes, now: 20_000)
        _ = connection.takeOutput(now: 20_000)
        var times: [UInt64] = []
        var events: [UTPConnection.Event] = []
        while let deadline = connection.deadline, times.count < 20 {
            connection.tick(now: deadline)
            let output = connection.takeOutput(now: deadline)
            events += output.events
            if !output.datagrams.isEmpty { times.append(deadline) }
        }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(times.first == 520_000)
        #expect(gaps == [1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000])
        #expect(events == [.failed(.timedOut)])
    }

    /// A peer that went away without a word (libtorrent drops a connection without a RESET, and its
    /// FIN can be lost in a flood) after round trips measured under load (3 s): the backed-off RTO
    /// alone would retransmit for minutes, past the idle timeout, while the session counts the peer
    /// as connected. Data unacked for `unackedTimeout` ends the connection.
    @Test func dataUnackedAfterSlowRoundTripsFailsWithinTheUnackedTimeout() {
        var connection = UTPConnection(connectingWith: 1, sequence: 100, now: 0)
        _ = connection.takeOutput(now: 0)
        connection.receive(
            UTPPacket(type: .state, connectionID: 1, windowSize: 1 << 20, sequenceNumber: 500, ackNumber: 100),
            now: 3_000_000)
        #expect(connection.congestion.rto > 3_000_000)
        var bytes = ByteBuffer(repeating: 3, count: 100)
        let sentAt: UInt64 = 4_000_000
        connection.write(&bytes, now: sentAt)
        #expect(connection.takeOutput(now: sentAt).datagrams.count == 1)
        var events: [UTPConnection.Event] = []
        var endedAt: UInt64?
        while let deadline = connection.deadline, endedAt == nil {
            connection.tick(now: deadline)
            events += connection.takeOutput(now: deadline).events
            if connection.isClosed { endedAt = deadline }
        }
        #expect(events == [.failed(.timedOut)])
        #expect(endedAt == sentAt + connection.configuration.unackedTimeout)
        #expect(connection.configuration.unackedTimeout < connection.configuration.idleTimeout)
    }

    /// Acks of new data keep a long transfer alive past `unackedTimeout`: only a stall ends it.
    @Test func acksKeepTheUnackedTimeoutAway() {
        var configuration = UTPConfiguration()
        configuration.unackedTimeout = 500_000
        var link = UTPLink(seed: 9, configuration: configuration)
        link.delay = 100_000
        let start = link.now
        let data = Self.randomBytes(2_000_000, seed: 9)
        link.send(data, from: 0)
        // 100 ms each way: acks come every 200 ms, and the transfer lasts many unacked timeouts.
        link.run(until: start + 60_000_000) { $0.received[1].count == data.count }
        #expect(link.received[1].count == data.count)
        #expect(link.now - start > 4 * configuration.unackedTimeout)
        #expect(!link.events[0].contains(.failed(.timedOut)))
    }

    /// A RESET from the peer ends the connection with an error.
    @Test func resetEndsConnection() {
        var link = UTPLink(seed: 5)
        link.run(until: 2_000_000) { $0.responder != nil && $0.events[0].contains(.connected) }
        link.responder!.abort(now: link.now)
        link.collect()
        link.run(until: 3_000_000) { $0.initiator.isClosed }
        #expect(link.events[0].last == .failed(.resetByPeer))
    }
}
