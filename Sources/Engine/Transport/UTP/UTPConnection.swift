import NIOCore

/// One uTP connection (BEP 29) as a pure value: no sockets, no clock of its own.
///
/// The owner feeds it decoded datagrams (``receive(_:now:)``), bytes to send (``write(_:now:)``)
/// and the time (``tick(now:)`` at ``deadline``), and after each batch takes what it produced with
/// ``takeOutput(now:)``: datagrams to send, bytes delivered in order, and events. Acks are
/// coalesced: one ST_STATE per batch unless a data packet carried the ack.
///
/// Everything is bounded: the send buffer (``UTPConfiguration/sendBuffer``), out-of-order packets
/// (``UTPConfiguration/maxReorderPackets`` and the receive buffer in bytes), acks outside what is in
/// flight are ignored, and every wait has a timeout.
public struct UTPConnection: Sendable {
    /// Where the connection is.
    public enum State: Hashable, Sendable {
        /// We sent a SYN and wait for the ST_STATE.
        case synSent
        /// We answered a SYN and wait for the initiator's first packet (we may already send).
        case synReceived
        /// Both sides spoke.
        case connected
        /// Over (after FIN both ways, a RESET, a timeout or ``abort(now:)``).
        case closed
    }

    /// What happened, reported once each.
    public enum Event: Hashable, Sendable {
        /// The handshake finished (the initiator got its ST_STATE, the responder a first packet).
        case connected
        /// The peer's FIN arrived and everything before it was delivered: no more bytes will come.
        case peerFinished
        /// The connection ended cleanly (our FIN acked) or was aborted by us.
        case closed
        /// The connection ended with an error.
        case failed(UTPError)
    }

    /// What a batch produced.
    public struct Output: Sendable {
        /// Datagrams to send to the peer, in order, back to back in one buffer.
        public var datagrams = UTPDatagrams()
        /// Bytes delivered in order, to pass up.
        public var delivered: [ByteBuffer] = []
        /// Events, in order.
        public var events: [Event] = []
    }

    struct SentPacket: Sendable {
        var type: UTPPacketType
        var payload: UTPSendQueue.Payload
        var sentAt: UInt64
        var transmissions: Int
        var needsResend: Bool
    }

    public let configuration: UTPConfiguration
    /// The id the peer sends to us with (how the multiplexer finds us).
    public let receiveID: UInt16
    /// The id we send with.
    public let sendID: UInt16
    /// Where the connection is.
    public internal(set) var state: State
    /// The largest datagram we read, told the peer in the SYN or in the answer to its SYN; nil says
    /// nothing (paths other than loopback, where we would not send large packets either).
    public let readLimit: UInt16?
    /// The largest payload we send: ``UTPConfiguration/maxPayload``, or more once a peer we told our
    /// read limit told us its own (``peerReads(_:)``).
    public internal(set) var payloadSize: Int

    // Sending.
    var nextSequence: UInt16
    /// The oldest sequence number not yet acked cumulatively.
    var oldestUnacked: UInt16
    var sent = UTPSequenceTable<SentPacket>()
    /// Payload bytes sent and neither acked nor waiting to be resent.
    var bytesInFlight = 0
    /// Payload bytes of every packet not yet acked.
    var bytesUnacked = 0
    var pending = UTPSendQueue()
    var peerWindow: Int = 1 << 20
    var congestion: UTPCongestion
    var retransmitDeadline: UInt64?
    /// When data in flight was last acked, or first sent after nothing was in flight.
    var lastProgress: UInt64
    var timeouts = 0
    var duplicateAcks = 0
    var lastAckReceived: UInt16
    /// The sequence number after which the next loss may halve the window again.
    var lossRecoveryUntil: UInt16
    var windowWasFull = false
    var finRequested = false
    var finSequence: UInt16?
    var closingSince: UInt64?

    // Receiving.
    /// The last sequence number received in order.
    var ackNumber: UInt16
    var reorder = UTPSequenceTable<ByteBuffer>()
    var reorderBytes = 0
    /// Delivered bytes the owner has not consumed yet (counted against our window).
    var backlog = 0
    var peerFinSequence: UInt16?
    var peerFinished = false
    var ackPending = false
    /// Our clock at the last packet from the peer minus its timestamp: what we send back as
    /// `timestamp_difference`.
    var replyDelay: UInt32 = 0
    var lastReceived: UInt64
    var lastSent: UInt64
    var acceptedAt: UInt64

    var output = Output()

    /// Opens a connection: queues the SYN. `receiveID` and `sequence` should be random. `readLimit`,
    /// if any, is told the peer (a loopback peer; see ``readLimit``).
    public init(
        connectingWith receiveID: UInt16, sequence: UInt16, now: UInt64, configuration: UTPConfiguration = .init(),
        readLimit: UInt16? = nil
    ) {
        self.configuration = configuration
        self.readLimit = readLimit
        self.payloadSize = configuration.maxPayload
        self.receiveID = receiveID
        self.sendID = receiveID &+ 1
        self.state = .synSent
        self.nextSequence = sequence
        self.oldestUnacked = sequence
        self.lastAckReceived = sequence &- 1
        self.lossRecoveryUntil = sequence
        self.ackNumber = 0
        self.congestion = UTPCongestion(configuration: configuration, initialRTO: configuration.synTimeout)
        self.lastReceived = now
        self.lastSent = now
        self.lastProgress = now
        self.acceptedAt = now
        sendNew(type: .syn, payload: .init(), now: now)
    }

    /// Answers a SYN: queues the ST_STATE. `sequence` should be random. `readLimit`, if any, is told
    /// the peer (a loopback peer; see ``readLimit``).
    public init(
        accepting syn: UTPPacket, sequence: UInt16, now: UInt64, configuration: UTPConfiguration = .init(),
        readLimit: UInt16? = nil
    ) {
        precondition(syn.type == .syn, "accepting a packet that is not a SYN")
        self.configuration = configuration
        self.readLimit = readLimit
        self.payloadSize = configuration.maxPayload
        self.receiveID = syn.connectionID &+ 1
        self.sendID = syn.connectionID
        self.state = .synReceived
        self.nextSequence = sequence
        self.oldestUnacked = sequence
        self.lastAckReceived = sequence &- 1
        self.lossRecoveryUntil = sequence
        self.ackNumber = syn.sequenceNumber
        self.peerWindow = Int(syn.windowSize)
        self.congestion = UTPCongestion(configuration: configuration, initialRTO: configuration.synTimeout)
        self.lastReceived = now
        self.lastSent = now
        self.lastProgress = now
        self.acceptedAt = now
        self.replyDelay = UInt32(truncatingIfNeeded: now) &- syn.timestamp
        ackPending = true
        peerReads(syn.readLimit)
    }

    /// Room for the header and its extensions (a full selective ack, the read limit) in a datagram.
    public static let headerRoom = UTPPacket.headerLength + 2 + 32 + 4

    /// The peer said, in its SYN or in the answer to ours, that it reads datagrams of `limit` bytes:
    /// payloads grow to fit them, up to ``UTPConfiguration/loopbackPayload``. Only when we told the
    /// peer our own limit (a loopback path); never below ``UTPConfiguration/maxPayload``.
    mutating func peerReads(_ limit: UInt16?) {
        guard let limit, readLimit != nil else { return }
        let size = min(configuration.loopbackPayload, Int(limit) - Self.headerRoom)
        guard size > payloadSize else { return }
        payloadSize = size
        congestion.setPacketSize(size)
    }

    /// Whether the connection is over.
    public var isClosed: Bool { state == .closed }

    /// How many more bytes ``write(_:now:)`` takes now.
    public var writableBytes: Int {
        guard state != .closed, !finRequested else { return 0 }
        return max(0, configuration.sendBuffer - bytesUnacked - pending.count)
    }

    /// The receive window we advertise.
    public var advertisedWindow: Int { max(0, configuration.receiveBuffer - reorderBytes - backlog) }

    /// Takes as many bytes of `bytes` as the send buffer has room for (moving its reader index);
    /// they go out at the next ``takeOutput(now:)``.
    @discardableResult
    public mutating func write(_ bytes: inout ByteBuffer, now: UInt64) -> Int {
        let count = min(bytes.readableBytes, writableBytes)
        guard count > 0, let slice = bytes.readSlice(length: count) else { return 0 }
        pending.append(slice)
        return count
    }

    /// The owner passed `count` delivered bytes on: they no longer count against our window. Returns
    /// whether the peer is owed a packet now: a window that was closed opened again, and a peer
    /// stalled by it sends nothing until it hears so (the owner must take the output soon).
    @discardableResult
    public mutating func consumed(_ count: Int) -> Bool {
        let before = advertisedWindow
        backlog = max(0, backlog - count)
        if before < configuration.maxPayload, advertisedWindow >= configuration.maxPayload { ackPending = true }
        return ackPending && state != .closed
    }

    /// Ends our side after everything written: a FIN follows the last byte. A connection we accepted
    /// whose initiator has not spoken yet cannot send a FIN (nothing goes out but its ST_STATE until
    /// then, see ``flush(now:)``): it is reset, so that the peer learns at once that it was closed
    /// (a silent connection closed by the listener's handshake timeout or for a newcomer).
    public mutating func close(now: UInt64) {
        guard state != .closed, !finRequested else { return }
        if state == .synSent {
            finish(.closed)
            return
        }
        if state == .synReceived {
            abort(now: now)
            return
        }
        finRequested = true
        closingSince = now
    }

    /// Ends the connection at once with an ST_RESET.
    public mutating func abort(now: UInt64) {
        guard state != .closed else { return }
        if state != .synSent {
            emit(
                UTPPacket(
                    type: .reset, connectionID: sendID, timestamp: UInt32(truncatingIfNeeded: now),
                    timestampDifference: replyDelay, windowSize: 0, sequenceNumber: nextSequence,
                    ackNumber: ackNumber), now: now)
        }
        finish(.closed)
    }

    /// The next time ``tick(now:)`` must run, if any.
    public var deadline: UInt64? {
        guard state != .closed else { return nil }
        var next = lastReceived + configuration.idleTimeout
        if let retransmitDeadline { next = min(next, retransmitDeadline) }
        if state != .synSent, !sent.isEmpty { next = min(next, lastProgress + configuration.unackedTimeout) }
        if state == .synReceived { next = min(next, acceptedAt + configuration.acceptTimeout) }
        if state == .connected, sent.isEmpty { next = min(next, lastSent + configuration.keepAliveInterval) }
        if let closingSince { next = min(next, closingSince + configuration.closeTimeout) }
        return next
    }

    mutating func finish(_ event: Event) {
        guard state != .closed else { return }
        state = .closed
        output.events.append(event)
        sent.removeAll()
        reorder.removeAll()
        pending.removeAll()
        bytesInFlight = 0
        bytesUnacked = 0
        reorderBytes = 0
        retransmitDeadline = nil
    }

    /// Everything produced since the last call; first sends what the windows allow and the ack owed.
    public mutating func takeOutput(now: UInt64) -> Output {
        flush(now: now)
        let result = output
        output = Output()
        return result
    }
}
