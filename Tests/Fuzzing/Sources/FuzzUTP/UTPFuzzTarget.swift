import Engine
import FuzzSupport
import NIOCore

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    UTPFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes a uTP connection (``UTPConnection``) that accepted a SYN from anyone, fed a sequence of
/// datagrams.
///
/// Input layout: records of a length byte, a flags byte and that many bytes. Flags bit 0: the bytes
/// are a whole raw datagram (decoded, most are refused); bit 0 clear: the first 10 bytes set the
/// header fields of a valid packet for this connection (type, seq and ack offsets from the
/// connection's own numbers, window, timestamp difference) and the rest is its payload, so the
/// fuzzer reaches the connection's logic. Bits 1-3 advance the clock (0 to 7 s), bit 4 runs the
/// timers, bit 5 writes 10 KiB, bit 6 consumes what was delivered, bit 7 closes. An input of odd
/// length plays a loopback peer: the SYN says it reads 65,000-byte datagrams and the connection told
/// its own read limit, so it sends large packets.
/// Oracles: decoding throws only `UTPError`; what decodes encodes back to itself; every datagram
/// the connection sends decodes and fits its payload size (1,400 bytes, or the loopback one) with
/// room for the header; the advertised window and the send buffer stay within their limits; no more
/// bytes are delivered than payload bytes were fed.
@main
enum UTPFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static func run(_ bytes: [UInt8]) {
        let loopback = bytes.count % 2 == 1
        let syn = UTPPacket(
            type: .syn, connectionID: 100, windowSize: 1 << 20, sequenceNumber: 500, ackNumber: 0,
            readLimit: loopback ? 65_000 : nil)
        var now: UInt64 = 1_000_000
        var connection = UTPConnection(
            accepting: syn, sequence: 40_000, now: now, readLimit: loopback ? 65_000 : nil)
        let configuration = connection.configuration
        let payloadSize = loopback ? configuration.loopbackPayload : configuration.maxPayload
        FuzzCheck.require(connection.payloadSize == payloadSize, "the payload size follows the read limits")
        var fed = 0
        var delivered = 0
        var pending = 0
        var sentSequence: UInt16 = 40_000
        var offset = 0
        while offset + 2 <= bytes.count {
            let length = Int(bytes[offset])
            let flags = bytes[offset + 1]
            let body = Array(bytes[(offset + 2)..<min(bytes.count, offset + 2 + length)])
            offset += 2 + length
            now += UInt64((flags >> 1) & 7) * 1_000_000
            if flags & 1 != 0 {
                do {
                    let packet = try UTPPacket(decoding: ByteBuffer(bytes: body))
                    let again = try UTPPacket(decoding: packet.encoded())
                    FuzzCheck.require(again == packet, "a decoded packet encodes back to itself")
                    if packet.connectionID == connection.receiveID || packet.type == .syn {
                        fed += packet.payload.readableBytes
                        connection.receive(packet, now: now)
                    }
                } catch {
                    // Typed throws: only UTPError reaches here.
                }
            } else if body.count >= 10 {
                let types: [UTPPacketType] = [.data, .state, .fin, .reset, .syn, .data, .data, .state]
                let payload = ByteBuffer(bytes: body.dropFirst(10))
                let packet = UTPPacket(
                    type: types[Int(body[0] & 7)], connectionID: connection.receiveID,
                    timestamp: UInt32(truncatingIfNeeded: now), timestampDifference: UInt32(body[1]) << 12,
                    windowSize: UInt32(body[2]) << UInt32(body[3] & 15),
                    sequenceNumber: 501 &+ UInt16(body[4]) << 8 &+ UInt16(body[5]),
                    ackNumber: sentSequence &+ UInt16(body[6]) &- 128,
                    selectiveAck: body[7] & 1 != 0 ? [body[8], body[9], body[8], body[9]] : nil,
                    payload: types[Int(body[0] & 7)] == .data ? payload : ByteBuffer())
                fed += packet.payload.readableBytes
                connection.receive(packet, now: now)
            }
            if flags & 0x10 != 0 { connection.tick(now: now) }
            if flags & 0x20 != 0 {
                var data = ByteBuffer(repeating: 0x5A, count: 10_240)
                connection.write(&data, now: now)
            }
            if flags & 0x80 != 0 { connection.close(now: now) }
            let output = connection.takeOutput(now: now)
            FuzzCheck.require(
                output.datagrams.count <= configuration.maxReorderPackets + 2, "datagrams per batch bounded")
            for datagram in output.datagrams {
                guard let packet = try? UTPPacket(decoding: datagram) else {
                    FuzzCheck.require(false, "what the connection sends decodes")
                    return
                }
                FuzzCheck.require(
                    datagram.readableBytes <= payloadSize + UTPConnection.headerRoom, "datagrams fit the payload size")
                if packet.type == .data || packet.type == .fin { sentSequence = packet.sequenceNumber }
            }
            let got = output.delivered.reduce(0) { $0 + $1.readableBytes }
            delivered += got
            pending += got
            if flags & 0x40 != 0 {
                connection.consumed(pending)
                pending = 0
            }
            FuzzCheck.require(delivered <= fed, "no more delivered than fed")
            FuzzCheck.require(connection.advertisedWindow <= configuration.receiveBuffer, "window within the buffer")
            FuzzCheck.require(connection.writableBytes <= configuration.sendBuffer, "send buffer bounded")
            if connection.isClosed { return }
        }
    }
}
