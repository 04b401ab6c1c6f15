/// BEP 15 (UDP tracker protocol) packets: pure encoding and strict decoding, no sockets.
public enum UDPTrackerMessage {
    /// The magic constant of a connect request.
    public static let protocolId: UInt64 = 0x417_2710_1980

    /// Actions of BEP 15.
    public enum Action: UInt32, Sendable {
        case connect = 0
        case announce = 1
        case scrape = 2
        case error = 3
    }

    /// A decoded reply.
    public enum Reply: Sendable, Hashable {
        /// The connection id to use for the next 60 s.
        case connected(connectionId: UInt64)
        /// An announce answer.
        case announced(AnnounceResponse)
        /// Scrape answers, in the order of the request's hashes.
        case scraped([ScrapeResult])
        /// The tracker's error message.
        case error(String)
    }

    /// Most info-hashes one scrape may carry (BEP 15: about 74 fit in a packet).
    public static let maxScrapeHashes = 74

    /// 16 bytes: protocol id, action 0, transaction id.
    public static func connectRequest(transactionId: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        out.appendBigEndian(protocolId)
        out.appendBigEndian(Action.connect.rawValue)
        out.appendBigEndian(transactionId)
        return out
    }

    /// 98 bytes: the announce of BEP 15 (IP 0: the tracker uses the sender's address).
    public static func announceRequest(
        connectionId: UInt64, transactionId: UInt32, _ request: AnnounceRequest
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(98)
        out.appendBigEndian(connectionId)
        out.appendBigEndian(Action.announce.rawValue)
        out.appendBigEndian(transactionId)
        out += request.infoHash
        out += request.peerId
        out.appendBigEndian(UInt64(max(0, request.downloaded)))
        out.appendBigEndian(UInt64(max(0, request.left)))
        out.appendBigEndian(UInt64(max(0, request.uploaded)))
        out.appendBigEndian(request.event.udpCode)
        out.appendBigEndian(UInt32(0))
        out.appendBigEndian(request.key)
        out.appendBigEndian(UInt32(bitPattern: Int32(clamping: request.numWant)))
        out.appendBigEndian(request.port)
        return out
    }

    /// 16 + 20·n bytes: a scrape of up to ``maxScrapeHashes`` info-hashes.
    public static func scrapeRequest(connectionId: UInt64, transactionId: UInt32, infoHashes: [[UInt8]]) -> [UInt8] {
        precondition(
            !infoHashes.isEmpty && infoHashes.count <= maxScrapeHashes && infoHashes.allSatisfy { $0.count == 20 })
        var out: [UInt8] = []
        out.reserveCapacity(16 + 20 * infoHashes.count)
        out.appendBigEndian(connectionId)
        out.appendBigEndian(Action.scrape.rawValue)
        out.appendBigEndian(transactionId)
        for hash in infoHashes { out += hash }
        return out
    }

    /// Decodes a reply to the request with `transactionId`. `ipv6` says the tracker was reached over
    /// IPv6, where announce replies carry 18-byte peers. `expectedScrapeCount` is the number of hashes
    /// scraped. Throws on a wrong transaction id, a wrong action or a short packet.
    public static func decodeReply(
        _ packet: [UInt8], transactionId: UInt32, expecting action: Action, ipv6: Bool = false,
        expectedScrapeCount: Int = 0
    ) throws -> Reply {
        guard packet.count >= 8 else { throw TrackerError.malformed("UDP reply of \(packet.count) bytes") }
        let gotAction = packet.readBigEndianUInt32(at: 0)
        let gotTransaction = packet.readBigEndianUInt32(at: 4)
        guard gotTransaction == transactionId else {
            throw TrackerError.malformed("UDP reply for transaction \(gotTransaction), expected \(transactionId)")
        }
        if gotAction == Action.error.rawValue {
            let text = String(decoding: packet[8..<min(packet.count, 8 + 1024)], as: UTF8.self)
            return .error(text)
        }
        guard gotAction == action.rawValue else {
            throw TrackerError.malformed("UDP reply action \(gotAction), expected \(action.rawValue)")
        }
        switch action {
        case .connect:
            guard packet.count >= 16 else { throw TrackerError.malformed("UDP connect reply of \(packet.count) bytes") }
            return .connected(connectionId: packet.readBigEndianUInt64(at: 8))
        case .announce:
            guard packet.count >= 20 else {
                throw TrackerError.malformed("UDP announce reply of \(packet.count) bytes")
            }
            let interval = Int(Int32(bitPattern: packet.readBigEndianUInt32(at: 8)))
            let leechers = Int(Int32(bitPattern: packet.readBigEndianUInt32(at: 12)))
            let seeders = Int(Int32(bitPattern: packet.readBigEndianUInt32(at: 16)))
            let peerBytes = packet[20...]
            let peers = ipv6 ? PeerAddress.compactIPv6(peerBytes) : PeerAddress.compactIPv4(peerBytes)
            return .announced(
                AnnounceResponse(
                    interval: interval, seeders: max(0, seeders), leechers: max(0, leechers), peers: peers))
        case .scrape:
            let count = (packet.count - 8) / 12
            guard count >= expectedScrapeCount, expectedScrapeCount > 0 else {
                throw TrackerError.malformed("UDP scrape reply with \(count) entries, expected \(expectedScrapeCount)")
            }
            var results: [ScrapeResult] = []
            for i in 0..<expectedScrapeCount {
                let at = 8 + 12 * i
                results.append(
                    ScrapeResult(
                        seeders: Int(packet.readBigEndianUInt32(at: at)),
                        completed: Int(packet.readBigEndianUInt32(at: at + 4)),
                        leechers: Int(packet.readBigEndianUInt32(at: at + 8))))
            }
            return .scraped(results)
        case .error:
            throw TrackerError.malformed("cannot expect an error action")
        }
    }

    /// BEP 15 retransmission: wait 15·2^n seconds after the n-th attempt, n capped at `maxExponent`
    /// (BEP 15 goes to 8, about an hour; btq stops earlier and lets the tier move on).
    public static func retransmitDelay(attempt: Int, maxExponent: Int = 3) -> Int {
        15 << min(max(attempt, 0), maxExponent)
    }

    /// How long a connection id stays valid, in seconds.
    public static let connectionIdLifetime = 60
}

extension [UInt8] {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        Swift.withUnsafeBytes(of: &big) { self.append(contentsOf: $0) }
    }

    func readBigEndianUInt32(at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 8 | UInt32(self[offset + i]) }
        return value
    }

    func readBigEndianUInt64(at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(self[offset + i]) }
        return value
    }
}
