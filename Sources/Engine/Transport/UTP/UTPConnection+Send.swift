import NIOCore

extension UTPConnection {
    /// Handles the timers: retransmission (with backoff, failing after too many), the handshake's
    /// and the idle connection's timeouts, keep-alives. Run at or after ``deadline``.
    public mutating func tick(now: UInt64) {
        guard state != .closed else { return }
        if now >= lastReceived + configuration.idleTimeout {
            finish(.failed(.idle))
            return
        }
        if state == .synReceived, now >= acceptedAt + configuration.acceptTimeout {
            finish(.failed(.handshakeTimedOut))
            return
        }
        if let closingSince, now >= closingSince + configuration.closeTimeout {
            finish(.closed)
            return
        }
        // Data in flight and nothing new acked for too long: the peer is gone (libtorrent forgets a
        // connection without a RESET, and its FIN may have been lost), whatever the RTO backed off to.
        if state != .synSent, !sent.isEmpty, now >= lastProgress + configuration.unackedTimeout {
            finish(.failed(.timedOut))
            return
        }
        if let deadline = retransmitDeadline, now >= deadline {
            timeouts += 1
            if state == .synSent {
                guard timeouts <= configuration.synRetries else {
                    finish(.failed(.handshakeTimedOut))
                    return
                }
            } else if timeouts > configuration.maxTimeouts {
                finish(.failed(.timedOut))
                return
            }
            congestion.timedOut()
            for (sequence, var packet) in sent where !packet.needsResend {
                packet.needsResend = true
                bytesInFlight -= packet.payload.readableBytes
                sent[sequence] = packet
            }
            lossRecoveryUntil = nextSequence
            retransmitDeadline = now + congestion.rto
            if state == .synSent, var syn = sent[oldestUnacked] {
                syn.needsResend = false
                syn.transmissions += 1
                syn.sentAt = now
                sent[oldestUnacked] = syn
                emit(sequence: oldestUnacked, packet: syn, selectiveAck: nil, now: now)
            }
        }
        // Keep-alives only when idle: a packet in flight is retransmitted anyway.
        if state == .connected, sent.isEmpty, now >= lastSent + configuration.keepAliveInterval { ackPending = true }
    }

    /// Sends what the congestion window and the peer's window allow: resends first, then new data,
    /// then the FIN, then an ack if none went out with data.
    mutating func flush(now: UInt64) {
        guard state != .closed, state != .synSent else { return }
        let selectiveAck = makeSelectiveAck()
        // An accepting side sends nothing but acks until the initiator spoke: its ST_STATE carries
        // the first sequence number, which must not have moved if that ST_STATE is sent again.
        guard state != .synReceived else {
            if ackPending { sendState(selectiveAck: selectiveAck, now: now) }
            return
        }
        let window = min(congestion.window, peerWindow)
        if bytesUnacked > bytesInFlight {
            var sequence = oldestUnacked
            while sequence != nextSequence {
                if var packet = sent[sequence], packet.needsResend {
                    let size = packet.payload.readableBytes
                    if bytesInFlight > 0, bytesInFlight + size > window {
                        windowWasFull = true
                        break
                    }
                    packet.needsResend = false
                    packet.transmissions += 1
                    packet.sentAt = now
                    bytesInFlight += size
                    sent[sequence] = packet
                    emit(sequence: sequence, packet: packet, selectiveAck: selectiveAck, now: now)
                }
                sequence = sequence &+ 1
            }
        }
        while !pending.isEmpty {
            let size = min(payloadSize, pending.count)
            // A peer keeps at most maxReorderPackets ahead; a zero window still lets one packet probe.
            if bytesInFlight > 0, bytesInFlight + size > window || sent.count >= configuration.maxReorderPackets - 1 {
                windowWasFull = true
                break
            }
            let payload = pending.take(size)
            sendNew(type: .data, payload: payload, now: now, selectiveAck: selectiveAck)
        }
        if pending.isEmpty {
            if bytesInFlight + payloadSize <= window { windowWasFull = false }
        }
        if finRequested, finSequence == nil, pending.isEmpty {
            finSequence = nextSequence
            sendNew(type: .fin, payload: .init(), now: now, selectiveAck: selectiveAck)
        }
        if ackPending { sendState(selectiveAck: selectiveAck, now: now) }
    }

    private mutating func sendState(selectiveAck: [UInt8]?, now: UInt64) {
        emit(
            UTPPacket(
                type: .state, connectionID: sendID, timestamp: UInt32(truncatingIfNeeded: now),
                timestampDifference: replyDelay, windowSize: UInt32(advertisedWindow),
                sequenceNumber: nextSequence, ackNumber: ackNumber, selectiveAck: selectiveAck,
                readLimit: state == .synReceived ? readLimit : nil), now: now)
    }

    mutating func sendNew(
        type: UTPPacketType, payload: UTPSendQueue.Payload, now: UInt64, selectiveAck: [UInt8]? = nil
    ) {
        let sequence = nextSequence
        nextSequence = nextSequence &+ 1
        let packet = SentPacket(type: type, payload: payload, sentAt: now, transmissions: 1, needsResend: false)
        if sent.isEmpty { lastProgress = now }
        sent[sequence] = packet
        bytesInFlight += payload.readableBytes
        bytesUnacked += payload.readableBytes
        if retransmitDeadline == nil { retransmitDeadline = now + congestion.rto }
        emit(sequence: sequence, packet: packet, selectiveAck: selectiveAck, now: now)
    }

    private mutating func emit(sequence: UInt16, packet: SentPacket, selectiveAck: [UInt8]?, now: UInt64) {
        var datagram = UTPPacket(
            type: packet.type, connectionID: packet.type == .syn ? receiveID : sendID,
            timestamp: UInt32(truncatingIfNeeded: now), timestampDifference: packet.type == .syn ? 0 : replyDelay,
            windowSize: UInt32(advertisedWindow), sequenceNumber: sequence,
            ackNumber: packet.type == .syn ? 0 : ackNumber, selectiveAck: packet.type == .syn ? nil : selectiveAck,
            readLimit: packet.type == .syn ? readLimit : nil, payload: packet.payload.first)
        datagram.morePayload = packet.payload.more
        emit(datagram, now: now)
    }

    mutating func emit(_ packet: UTPPacket, now: UInt64) {
        if packet.type != .syn { ackPending = false }
        lastSent = now
        output.datagrams.append(packet)
    }

    /// The bitmask of out-of-order packets held, bit 0 standing for `ackNumber + 2`, at most 32 bytes.
    private func makeSelectiveAck() -> [UInt8]? {
        guard !reorder.isEmpty else { return nil }
        var furthest = 0
        for (sequence, _) in reorder {
            furthest = max(furthest, UTPSequence.distance(from: ackNumber, to: sequence))
        }
        let bits = min(furthest - 1, 256)
        guard bits > 0 else { return nil }
        var mask = [UInt8](repeating: 0, count: (bits + 31) / 32 * 4)
        for bit in 0..<(mask.count * 8) where reorder[ackNumber &+ 2 &+ UInt16(bit)] != nil {
            mask[bit / 8] |= 1 << (bit % 8)
        }
        return mask
    }
}
