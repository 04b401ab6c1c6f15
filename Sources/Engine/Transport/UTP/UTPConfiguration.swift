/// The limits and timings of one uTP connection. All times are in microseconds of a monotonic clock.
public struct UTPConfiguration: Hashable, Sendable {
    /// The largest payload of one ST_DATA packet. Fixed (no path-MTU discovery): with the 20-byte
    /// header, a 34-byte selective ack and 28 bytes of IPv4 and UDP headers a packet stays under
    /// the usual 1,500-byte MTU.
    public var maxPayload = 1400
    /// The largest payload to a loopback peer that said it reads datagrams that large (its
    /// ``UTPPacket/readLimit``, less ``UTPConnection/headerRoom``). Loopback's MTU is 64 KiB, and
    /// fewer, larger packets cost less per byte at both ends: btq to btq over uTP, 1 GiB, took 1.69
    /// and 1.74 s with 16 KiB payloads against 1.99 and 2.49 s with 1,400 bytes (32 KiB was no
    /// faster). Other paths, and peers that do not say (libtorrent reads at most 1,500 bytes and cuts
    /// longer datagrams short), get ``maxPayload``.
    public var loopbackPayload = 16 * 1024
    /// The receive buffer we advertise (reordered packets plus delivered bytes the owner has not
    /// taken yet).
    public var receiveBuffer = 1 << 20
    /// The send buffer: bytes written but not yet acked.
    public var sendBuffer = 1 << 20
    /// How far past the last in-order packet an out-of-order packet is kept.
    public var maxReorderPackets = 1024
    /// LEDBAT's target queueing delay (BEP 29: 100 ms).
    public var targetDelay: UInt64 = 100_000
    /// The most the congestion window grows in one round trip outside slow start, in bytes
    /// (libtorrent's gain factor).
    public var maxWindowGainPerRTT = 3000
    /// The lower bound on the retransmission timeout (RFC 6298 says 1 s; uTP uses 500 ms).
    public var minimumRTO: UInt64 = 500_000
    /// The upper bound on the retransmission timeout after backoff.
    public var maximumRTO: UInt64 = 60_000_000
    /// The SYN's first retransmission timeout.
    public var synTimeout: UInt64 = 1_000_000
    /// How often a SYN is resent before the connection fails.
    public var synRetries = 2
    /// How often a packet times out in a row before the connection fails.
    public var maxTimeouts = 6
    /// The connection fails when data in flight has had no ack of anything new for this long, however
    /// few timeouts that took: the RTO backs off from the round trip measured, and one measured under
    /// load (seconds of queueing) would otherwise keep a connection whose peer is gone for minutes.
    public var unackedTimeout: UInt64 = 30_000_000
    /// How long an accepted connection may wait for the initiator's first packet after the SYN.
    public var acceptTimeout: UInt64 = 10_000_000
    /// An ST_STATE is sent when nothing was sent for this long.
    public var keepAliveInterval: UInt64 = 29_000_000
    /// The connection fails when nothing arrived for this long.
    public var idleTimeout: UInt64 = 120_000_000
    /// A closing connection whose FIN is never acked gives up after this long.
    public var closeTimeout: UInt64 = 10_000_000
    /// The base delay is the least delay seen over this many one-minute buckets (RFC 6817).
    public var baseDelayMinutes = 10
    /// UDP offload where the system has it (Linux; ``UTPOffload``), read when the socket is bound:
    /// reads of several datagrams the kernel joined (UDP_GRO), and to loopback peers writes of
    /// several equal datagrams the kernel splits (UDP_SEGMENT). Off: one datagram per read slot and
    /// per write, as on systems without it.
    public var udpOffload = true

    /// The defaults.
    public init() {}
}
