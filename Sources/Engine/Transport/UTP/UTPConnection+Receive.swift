import NIOCore

extension UTPConnection {
    /// Handles one datagram addressed to this connection (the owner matched its connection id).
    public mutating func receive(_ packet: UTPPacket, now: UInt64) {
        guard state != .closed else { return }
        lastReceived = now
        replyDelay = UInt32(truncatingIfNeeded: now) &- packet.timestamp
        peerWindow = Int(packet.windowSize)
        switch packet.type {
        case .reset:
            finish(state == .synSent ? .failed(.handshakeTimedOut) : .failed(.resetByPeer))
            return
        case .syn:
            // The initiator did not get our ST_STATE: answer again.
            if state == .synReceived, packet.sequenceNumber == ackNumber { ackPending = true }
            return
        case .state, .data, .fin:
            break
        }
        if state == .synSent {
            guard packet.type == .state else { return }
            peerReads(packet.readLimit)
            ackNumber = packet.sequenceNumber &- 1
            state = .connected
            output.events.append(.connected)
        } else if state == .synReceived {
            state = .connected
            output.events.append(.connected)
        }
        handleAcks(packet, now: now)
        guard state != .closed else { return }
        if packet.type == .data || packet.type == .fin { receiveSequenced(packet) }
    }

    private mutating func receiveSequenced(_ packet: UTPPacket) {
        ackPending = true
        let distance = UTPSequence.distance(from: ackNumber, to: packet.sequenceNumber)
        // Old (already delivered) or too far ahead to keep: the ack tells the peer where we are.
        guard distance >= 1, distance < 0x8000, distance <= configuration.maxReorderPackets else { return }
        if let fin = peerFinSequence, UTPSequence.precedes(fin, packet.sequenceNumber) { return }
        if packet.type == .fin {
            peerFinSequence = packet.sequenceNumber
        }
        let size = packet.payload.readableBytes
        if distance == 1 {
            // One packet past the window: a peer with nothing in flight may send one.
            let slack = max(configuration.maxPayload, Int(readLimit ?? 0))
            guard backlog + reorderBytes + size <= configuration.receiveBuffer + slack else {
                return
            }
            deliver(packet.payload)
            ackNumber = packet.sequenceNumber
            while let next = reorder.removeValue(forKey: ackNumber &+ 1) {
                reorderBytes -= next.readableBytes
                deliver(next)
                ackNumber = ackNumber &+ 1
            }
            if let fin = peerFinSequence, fin == ackNumber, !peerFinished {
                peerFinished = true
                reorder.removeAll()
                reorderBytes = 0
                output.events.append(.peerFinished)
            }
        } else if reorder[packet.sequenceNumber] == nil {
            guard backlog + reorderBytes + size <= configuration.receiveBuffer else { return }
            // A copy: the payload is a slice of the socket's read buffer (1 MiB with receive offload),
            // which a kept slice would pin for as long as the gap stays open.
            var copy = ByteBufferAllocator().buffer(capacity: size)
            copy.writeImmutableBuffer(packet.payload)
            reorder[packet.sequenceNumber] = copy
            reorderBytes += size
        }
    }

    private mutating func deliver(_ payload: ByteBuffer) {
        guard payload.readableBytes > 0 else { return }
        backlog += payload.readableBytes
        output.delivered.append(payload)
    }

    private mutating func handleAcks(_ packet: UTPPacket, now: UInt64) {
        let ack = packet.ackNumber
        // Only acks of what is in flight count: [oldestUnacked - 1, nextSequence - 1].
        let span = UTPSequence.distance(from: oldestUnacked &- 1, to: nextSequence &- 1)
        let offset = UTPSequence.distance(from: oldestUnacked &- 1, to: ack)
        guard offset <= span else { return }
        var ackedBytes = 0
        var newlyAcked = false
        var sample: UInt64?
        while oldestUnacked != nextSequence, UTPSequence.precedes(oldestUnacked &- 1, ack) {
            if let packet = sent.removeValue(forKey: oldestUnacked) {
                ackedBytes += account(packet, now: now, sample: &sample)
                newlyAcked = true
            }
            oldestUnacked = oldestUnacked &+ 1
        }
        var sackedAfterOldest = 0
        // The packets this ack selectively acked for the first time, in order, with when each was sent.
        var newlySacked: [(sequence: UInt16, sentAt: UInt64)] = []
        if let mask = packet.selectiveAck {
            for bit in 0..<(mask.count * 8) where mask[bit / 8] & (1 << (bit % 8)) != 0 {
                let sequence = ack &+ 2 &+ UInt16(bit)
                guard UTPSequence.precedes(sequence, nextSequence) else { break }
                sackedAfterOldest += 1
                if let packet = sent.removeValue(forKey: sequence) {
                    newlySacked.append((sequence, packet.sentAt))
                    ackedBytes += account(packet, now: now, sample: &sample)
                    newlyAcked = true
                }
            }
        }
        // Every packet still unacked that went out no later than three packets that arrived (selective
        // acks past it) is lost: all are resent, not only the oldest, so that a burst lost at a full
        // receive socket costs a round trip, not one round trip (or a timeout) per packet.
        if newlySacked.count >= 3 {
            let third = newlySacked[newlySacked.count - 3]
            var sequence = oldestUnacked
            while UTPSequence.precedes(sequence, third.sequence) {
                if let lost = sent[sequence], lost.sentAt <= third.sentAt { markLost(sequence) }
                sequence = sequence &+ 1
            }
        }
        if let sample { congestion.rttSample(sample) }
        if newlyAcked {
            lastProgress = now
            timeouts = 0
            congestion.resetBackoff()
            retransmitDeadline = sent.isEmpty ? nil : now + congestion.rto
            congestion.acked(
                bytes: ackedBytes, delaySample: packet.timestampDifference == 0 ? nil : packet.timestampDifference,
                now: now, windowWasFull: windowWasFull)
        }
        if ack == lastAckReceived, !newlyAcked, packet.type == .state, !sent.isEmpty {
            duplicateAcks += 1
        } else if ack != lastAckReceived {
            duplicateAcks = 0
        }
        lastAckReceived = ack
        // Fast retransmit: three duplicate acks, or three packets acked selectively past the oldest.
        if !sent.isEmpty, duplicateAcks >= 3 || sackedAfterOldest >= 3 {
            markLost(oldestUnacked)
            duplicateAcks = 0
        }
        // Our FIN is acked: nothing more to say, whatever the peer still sends.
        if let fin = finSequence, UTPSequence.precedes(fin, oldestUnacked) { finish(.closed) }
    }

    /// Removes an acked packet from the counts; returns its payload size.
    private mutating func account(_ packet: SentPacket, now: UInt64, sample: inout UInt64?) -> Int {
        let size = packet.payload.readableBytes
        bytesUnacked -= size
        if !packet.needsResend { bytesInFlight -= size }
        if packet.transmissions == 1, now >= packet.sentAt { sample = now - packet.sentAt }
        return size
    }

    private mutating func markLost(_ sequence: UInt16) {
        guard var packet = sent[sequence], !packet.needsResend else { return }
        packet.needsResend = true
        bytesInFlight -= packet.payload.readableBytes
        sent[sequence] = packet
        if !UTPSequence.precedes(sequence, lossRecoveryUntil) {
            congestion.lost()
            lossRecoveryUntil = nextSequence
        }
    }
}
