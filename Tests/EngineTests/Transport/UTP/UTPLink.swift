import NIOCore

@testable import Engine

/// Two ``UTPConnection`` values joined by a simulated link with a seeded random: each datagram is
/// delayed, some dropped, some held back (reordered). Time is simulated, so nothing sleeps.
struct UTPLink {
    struct InFlight {
        var arrival: UInt64
        var order: Int
        var toResponder: Bool
        var bytes: ByteBuffer
    }

    var initiator: UTPConnection
    var responder: UTPConnection?
    var now: UInt64
    var random: SplitMix64
    /// Per mille of datagrams dropped, and of datagrams delayed by up to `reorderDelay` more.
    var lossPerMille: Int
    var reorderPerMille: Int
    var delay: UInt64 = 10_000
    var reorderDelay: UInt64 = 30_000
    var queue: [InFlight] = []
    var order = 0
    var toSend: [ByteBuffer] = [ByteBuffer(), ByteBuffer()]
    var received: [[UInt8]] = [[], []]
    var events: [[UTPConnection.Event]] = [[], []]
    var consuming = [true, true]
    var datagramsSent = 0
    /// The longest datagram each side sent, in bytes.
    var longestDatagram = [0, 0]
    var configuration: UTPConfiguration
    let responderSequence: UInt16
    /// What the responder tells the initiator it reads (the initiator's is set at its init).
    let responderReadLimit: UInt16?

    init(
        seed: UInt64, loss: Int = 0, reorder: Int = 0, initiatorSequence: UInt16 = 1,
        responderSequence: UInt16 = 0x9000, configuration: UTPConfiguration = .init(),
        readLimits: (initiator: UInt16?, responder: UInt16?) = (nil, nil)
    ) {
        self.now = 1_000_000
        self.random = SplitMix64(seed: seed)
        self.lossPerMille = loss
        self.reorderPerMille = reorder
        self.configuration = configuration
        self.responderSequence = responderSequence
        self.responderReadLimit = readLimits.responder
        self.initiator = UTPConnection(
            connectingWith: 0x4000, sequence: initiatorSequence, now: now, configuration: configuration,
            readLimit: readLimits.initiator)
        collect()
    }

    /// Queues bytes for a side to write (0 the initiator, 1 the responder).
    mutating func send(_ bytes: [UInt8], from side: Int) {
        toSend[side].writeBytes(bytes)
    }

    /// Runs until nothing is left to do or `until` (simulated microseconds) passes; returns
    /// whether the link went quiet before then.
    @discardableResult
    mutating func run(until limit: UInt64, stopWhen done: (UTPLink) -> Bool = { _ in false }) -> Bool {
        while now < limit {
            if done(self) { return true }
            var next = queue.map(\.arrival).min()
            for deadline in [initiator.deadline, responder?.deadline].compactMap({ $0 }) {
                next = min(next ?? deadline, deadline)
            }
            guard let next else { return true }
            now = max(now, next)
            let due = queue.filter { $0.arrival <= now }.sorted { ($0.arrival, $0.order) < ($1.arrival, $1.order) }
            queue.removeAll { $0.arrival <= now }
            for datagram in due { deliver(datagram) }
            if let deadline = initiator.deadline, deadline <= now { initiator.tick(now: now) }
            if let deadline = responder?.deadline, deadline <= now { responder?.tick(now: now) }
            collect()
        }
        return false
    }

    private mutating func deliver(_ datagram: InFlight) {
        guard let packet = try? UTPPacket(decoding: datagram.bytes) else { return }
        if datagram.toResponder {
            if responder == nil, packet.type == .syn {
                responder = UTPConnection(
                    accepting: packet, sequence: responderSequence, now: now, configuration: configuration,
                    readLimit: responderReadLimit)
            } else if packet.connectionID == responder?.receiveID {
                responder?.receive(packet, now: now)
            }
        } else if packet.connectionID == initiator.receiveID {
            initiator.receive(packet, now: now)
        }
    }

    /// Writes what each side has queued, takes the output and puts the datagrams on the link.
    mutating func collect() {
        initiator.write(&toSend[0], now: now)
        let first = initiator.takeOutput(now: now)
        handle(first, side: 0)
        if responder != nil {
            responder!.write(&toSend[1], now: now)
            let second = responder!.takeOutput(now: now)
            handle(second, side: 1)
        }
    }

    private mutating func handle(_ output: UTPConnection.Output, side: Int) {
        events[side] += output.events
        for bytes in output.delivered {
            received[side] += Array(bytes.readableBytesView)
            if consuming[side] { consume(side: side, bytes.readableBytes) }
        }
        for datagram in output.datagrams {
            datagramsSent += 1
            longestDatagram[side] = max(longestDatagram[side], datagram.readableBytes)
            if random.next(below: 1000) < lossPerMille { continue }
            var arrival = now + delay
            if random.next(below: 1000) < reorderPerMille { arrival += UInt64(random.next(below: Int(reorderDelay))) }
            order += 1
            queue.append(InFlight(arrival: arrival, order: order, toResponder: side == 0, bytes: datagram))
        }
    }

    mutating func consume(side: Int, _ count: Int) {
        if side == 0 { initiator.consumed(count) } else { responder?.consumed(count) }
    }
}
