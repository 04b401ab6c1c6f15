/// LEDBAT congestion control and the retransmission timeout of one uTP connection, as a value.
///
/// The window grows in slow start (by the bytes acked) until the queueing delay reaches 90% of the
/// target or a loss; afterwards by at most ``UTPConfiguration/maxWindowGainPerRTT`` per round trip,
/// scaled by how far the measured delay is below the target (and shrinking when above). The delay
/// is the peer's `timestamp_difference` minus the least one seen over the last minutes (the base
/// delay), so the clocks' offset cancels. A loss halves the window (once per window of data); a
/// timeout drops it to one packet. The RTO follows RFC 6298 with a 500 ms floor and doubles on
/// every timeout.
struct UTPCongestion: Sendable {
    let configuration: UTPConfiguration
    /// The congestion window in bytes.
    private(set) var window: Int
    /// The connection's largest payload: the least the window falls to.
    private(set) var packetSize: Int
    private(set) var slowStart = true
    private var slowStartThreshold = Int.max
    /// Smoothed round-trip time and its variation, in microseconds; nil before the first sample.
    private(set) var smoothedRTT: UInt64?
    private var rttVariation: UInt64 = 0
    /// The retransmission timeout, backed off.
    private(set) var rto: UInt64
    /// The least delay per minute bucket, the newest last, and the bucket the newest started.
    private var baseDelays: [UInt32] = []
    private var bucketStart: UInt64 = 0
    /// The most recent queueing delay above the base, in microseconds.
    private(set) var queueingDelay: UInt64 = 0

    init(configuration: UTPConfiguration, initialRTO: UInt64) {
        self.configuration = configuration
        self.window = 2 * configuration.maxPayload
        self.packetSize = configuration.maxPayload
        self.rto = initialRTO
    }

    private var maxWindow: Int { max(configuration.sendBuffer, 2 * packetSize) }

    /// The connection's packets grew to `size` (in the handshake): the initial window is two of them.
    mutating func setPacketSize(_ size: Int) {
        window = max(window, 2 * size)
        packetSize = size
    }

    /// A round-trip sample from a packet sent once and now acked (Karn's rule: never from a resent one).
    mutating func rttSample(_ sample: UInt64) {
        if let srtt = smoothedRTT {
            let difference = srtt > sample ? srtt - sample : sample - srtt
            rttVariation = (3 * rttVariation + difference) / 4
            smoothedRTT = (7 * srtt + sample) / 8
        } else {
            smoothedRTT = sample
            rttVariation = sample / 2
        }
        resetBackoff()
    }

    /// The RTO from the current estimate, without backoff (after an ack of new data).
    mutating func resetBackoff() {
        guard let srtt = smoothedRTT else { return }
        rto = min(max(configuration.minimumRTO, srtt + max(1000, 4 * rttVariation)), configuration.maximumRTO)
    }

    /// Bytes newly acked, with the peer's delay measurement from that ack. `windowWasFull` says
    /// whether the sender was limited by the window (an application-limited sender does not grow it).
    mutating func acked(bytes: Int, delaySample: UInt32?, now: UInt64, windowWasFull: Bool) {
        guard bytes > 0 else { return }
        if let delaySample { recordDelay(delaySample, now: now) }
        guard windowWasFull else { return }
        let target = Double(configuration.targetDelay)
        let delayFactor = max(-1, min(1, (target - Double(queueingDelay)) / target))
        let windowFactor = min(1, Double(bytes) / Double(max(window, 1)))
        let gain = Double(configuration.maxWindowGainPerRTT) * delayFactor * windowFactor
        var next = Double(window) + gain
        if slowStart {
            let doubled = window + bytes
            if Double(queueingDelay) > 0.9 * target || doubled > slowStartThreshold {
                slowStart = false
            } else {
                next = max(next, Double(doubled))
            }
        }
        window = Int(max(Double(packetSize), min(Double(maxWindow), next)))
    }

    /// A packet was found lost by duplicate or selective acks: halve the window, leave slow start.
    mutating func lost() {
        window = max(packetSize, window / 2)
        slowStartThreshold = window
        slowStart = false
    }

    /// The retransmission timer fired: one packet of window, back off the RTO, slow start again.
    mutating func timedOut() {
        slowStartThreshold = max(packetSize, window / 2)
        window = packetSize
        slowStart = true
        rto = min(rto * 2, configuration.maximumRTO)
    }

    private mutating func recordDelay(_ sample: UInt32, now: UInt64) {
        if baseDelays.isEmpty || now >= bucketStart + 60_000_000 {
            baseDelays.append(sample)
            bucketStart = now
            if baseDelays.count > configuration.baseDelayMinutes { baseDelays.removeFirst() }
        } else if Int32(bitPattern: sample &- baseDelays[baseDelays.count - 1]) < 0 {
            baseDelays[baseDelays.count - 1] = sample
        }
        var base = baseDelays[0]
        for delay in baseDelays.dropFirst() where Int32(bitPattern: delay &- base) < 0 { base = delay }
        let above = Int32(bitPattern: sample &- base)
        queueingDelay = UInt64(max(0, above))
    }
}
