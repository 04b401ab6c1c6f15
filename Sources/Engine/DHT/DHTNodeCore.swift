/// The decisions of a DHT node (BEP 5, and BEP 32 for IPv6) as a value: what a packet received, a tick
/// of the clock or a lookup asked for does to the routing table, the lookups, the peers announced to
/// us and the queries waiting for an answer, and which packets go out. No socket and no clock of its
/// own: ``MainlineDHT`` hands it packets and the time, and sends what it returns.
///
/// Hostile by default: packets are decoded within ``KRPCMessage/Limits``; each address may make
/// ``DHTRateLimit/perSecond`` queries a second; a response is taken only from the address its query
/// went to, under a transaction id we chose; at most ``maxPending`` queries wait and ``maxLookups``
/// lookups run; a node that claims our id is neither answered nor added.
public struct DHTNodeCore: Sendable {
    /// A packet to send.
    public struct Outgoing: Sendable, Equatable {
        public var address: PeerAddress
        public var bytes: [UInt8]
        /// A query of ours (its answer is awaited), not an answer to another node.
        public var isQuery = false
    }

    /// What a lookup reports to whoever asked for it.
    public enum Event: Sendable, Equatable {
        /// Peers found that the lookup had not reported yet.
        case peers(lookup: Int, [PeerAddress])
        /// The lookup ended (its announces are sent).
        case finished(lookup: Int)
    }

    /// What one call decided: packets to send and events for the lookups' askers.
    public struct Step: Sendable {
        public var packets: [Outgoing] = []
        public var events: [Event] = []

        public init() {}
    }

    /// Counters since the node started (what `btq dht` shows).
    public struct Counters: Sendable {
        public var packetsIn: Int64 = 0
        public var packetsOut: Int64 = 0
        public var bytesIn: Int64 = 0
        public var bytesOut: Int64 = 0
        public var queriesAnswered: Int64 = 0
        public var queriesDropped: Int64 = 0
    }

    /// A query of ours waiting for its answer.
    private struct Pending: Sendable {
        var address: PeerAddress
        /// The id we expect to answer, when known (it is blamed when the query times out).
        var id: NodeID?
        var sentAt: ContinuousClock.Instant
        var purpose: Purpose
        /// Its lookup was told it is slow (``slowAfter``).
        var slow = false
    }

    private enum Purpose: Sendable {
        case lookup(Int)
        case ping
        case announce
    }

    private struct RunningLookup: Sendable {
        var lookup: DHTLookup
        /// Announce ourselves on this port to the closest nodes once done (`get_peers` only).
        var announcePort: UInt16?
        /// Report its events (lookups the node starts itself, to refresh, report none).
        var reports: Bool
    }

    /// How long a query may wait for its answer.
    public static let queryTimeout: Duration = .seconds(3)
    /// How long a lookup's query waits before its lookup asks the next node beside it (the query
    /// is still awaited until ``queryTimeout``).
    public static let slowAfter: Duration = .seconds(1)
    public static let maxPending = 512
    public static let maxLookups = 32
    /// Buckets nothing happened in for this long are refreshed by a lookup of an id in their range.
    static let refreshAge: Duration = .seconds(15 * 60)
    /// Agreeing reports of our address (BEP 42 `ip`) after which our id is made to match it.
    static let votesForAddress = 3
    /// Sent as `v`: btq's two letters and version.
    static let version: [UInt8] = Array("BQ".utf8) + [0, 1]

    public let family: DHTFamily
    public private(set) var table: RoutingTable
    public let readOnly: Bool
    public private(set) var counters = Counters()
    private var tokens: AnnounceTokens
    private var announced = DHTPeerStore()
    private var rateLimit = DHTRateLimit()
    private var pending: [UInt16: Pending] = [:]
    private var nextTransaction = UInt16.random(in: 0...UInt16.max)
    private var lookups: [Int: RunningLookup] = [:]
    private var nextLookup = 1
    private var pinging: Set<NodeID> = []
    private var addressVotes: [PeerAddress.Host: Int] = [:]
    private var lastRefresh: ContinuousClock.Instant

    /// A node of `family` with id `id`, its table filled from `saved` (as questionable nodes, until
    /// they answer).
    public init(
        family: DHTFamily, id: NodeID, readOnly: Bool, saved: [DHTNode] = [], now: ContinuousClock.Instant
    ) {
        self.family = family
        self.readOnly = readOnly
        table = RoutingTable(ownID: id, now: now)
        tokens = AnnounceTokens(now: now)
        lastRefresh = now
        for node in saved where Self.belongs(node.address, to: family) {
            table.heard(from: node, at: now - RoutingTable.goodFor, answered: true)
        }
    }

    public var ownID: NodeID { table.ownID }

    /// Lookups running (those the node started itself included).
    public var lookupCount: Int { lookups.count }

    /// Whether `address` is of the family `family`.
    static func belongs(_ address: PeerAddress, to family: DHTFamily) -> Bool {
        switch (address.host, family) {
        case (.ipv4, .ipv4), (.ipv6, .ipv6): return address.port != 0
        default: return false
        }
    }

    // MARK: Lookups

    /// Starts a lookup of `target`, from the closest nodes of the table and `seeds` (bootstrap nodes,
    /// whose ids are not known). With `announcePort`, a `get_peers` lookup announces us on that port to
    /// the closest nodes that gave a token. Returns its number (`nil` when ``maxLookups`` run already).
    public mutating func startLookup(
        _ kind: DHTLookup.Kind, target: NodeID, announcePort: UInt16? = nil, seeds: [PeerAddress] = [],
        reports: Bool = true, now: ContinuousClock.Instant, into step: inout Step
    ) -> Int? {
        guard lookups.count < Self.maxLookups else { return nil }
        var lookup = DHTLookup(kind: kind, target: target, ownID: ownID)
        lookup.add(table.closest(to: target, count: DHTLookup.maxCandidates / 2))
        lookup.add(addresses: seeds.filter { Self.belongs($0, to: family) })
        let id = nextLookup
        nextLookup += 1
        // Port 0 is nobody's: nothing is announced on it.
        lookups[id] = RunningLookup(
            lookup: lookup, announcePort: announcePort == 0 ? nil : announcePort, reports: reports)
        advance(id, now: now, into: &step)
        return id
    }

    /// Forgets a lookup (its asker is gone); answers still coming are ignored.
    public mutating func cancelLookup(_ id: Int) {
        lookups[id] = nil
    }

    /// Sends the lookup's next queries, or ends it (announcing, for `get_peers`) when it is done.
    private mutating func advance(_ id: Int, now: ContinuousClock.Instant, into step: inout Step) {
        guard var running = lookups[id] else { return }
        let method: KRPCQuery.Method =
            running.lookup.kind == .getPeers
            ? .getPeers(infoHash: running.lookup.target) : .findNode(target: running.lookup.target)
        for address in running.lookup.nextQueries() {
            let expected = running.lookup.candidates.first { $0.address == address }?.id
            if !send(method, to: address, expecting: expected, for: .lookup(id), now: now, into: &step) {
                running.lookup.failed(address)
            }
        }
        guard running.lookup.isDone else {
            lookups[id] = running
            return
        }
        lookups[id] = nil
        if let port = running.announcePort, running.lookup.kind == .getPeers {
            for (address, token) in running.lookup.announceTargets {
                let method = KRPCQuery.Method.announcePeer(
                    infoHash: running.lookup.target, port: port, token: token, impliedPort: false)
                send(method, to: address, expecting: nil, for: .announce, now: now, into: &step)
            }
        }
        if running.reports { step.events.append(.finished(lookup: id)) }
    }

    // MARK: Packets

    /// A packet from `address` arrived at `now`.
    public mutating func received(_ bytes: [UInt8], from address: PeerAddress, now: ContinuousClock.Instant) -> Step {
        var step = Step()
        counters.packetsIn += 1
        counters.bytesIn += Int64(bytes.count)
        guard Self.belongs(address, to: family), let message = try? KRPCMessage(decoding: bytes) else {
            counters.queriesDropped += 1
            return step
        }
        switch message.body {
        case .query(let query):
            answer(query, of: message, from: address, now: now, into: &step)
        case .response(let response):
            guard let pending = takePending(message.transaction, from: address) else { return step }
            heard(
                DHTNode(id: response.sender, address: address), answered: true, readOnly: message.readOnly, now: now,
                into: &step)
            if let requester = message.requester { vote(for: requester.host, now: now) }
            if case .lookup(let id) = pending.purpose, lookups[id] != nil, response.sender == ownID {
                // It claims to be us: nothing it says is taken.
                lookups[id]!.lookup.failed(address)
                advance(id, now: now, into: &step)
            } else if case .lookup(let id) = pending.purpose, lookups[id] != nil {
                let nodes = (family == .ipv4 ? response.nodes : response.nodes6).filter {
                    Self.belongs($0.address, to: family)
                }
                let values = response.values.filter { Self.belongs($0, to: family) }
                let fresh = lookups[id]!.lookup.answered(
                    from: address, id: response.sender, nodes: nodes, values: values, token: response.token)
                if !fresh.isEmpty, lookups[id]!.reports { step.events.append(.peers(lookup: id, fresh)) }
                advance(id, now: now, into: &step)
            }
            if case .ping = pending.purpose, let id = pending.id { pinging.remove(id) }
        case .error:
            guard let pending = takePending(message.transaction, from: address) else { return step }
            if case .lookup(let id) = pending.purpose, lookups[id] != nil {
                lookups[id]!.lookup.failed(address)
                advance(id, now: now, into: &step)
            }
        }
        return step
    }

    /// The waiting query `transaction` names, when it went to `address`; it waits no more.
    private mutating func takePending(_ transaction: [UInt8], from address: PeerAddress) -> Pending? {
        guard transaction.count == 2 else { return nil }
        let key = UInt16(transaction[0]) << 8 | UInt16(transaction[1])
        guard let pending = pending[key], pending.address == address else { return nil }
        self.pending[key] = nil
        return pending
    }

    /// Answers another node's query, unless we are read-only, it is over its address's rate, or it
    /// claims our id.
    private mutating func answer(
        _ query: KRPCQuery, of message: KRPCMessage, from address: PeerAddress, now: ContinuousClock.Instant,
        into step: inout Step
    ) {
        guard !readOnly, query.sender != ownID, rateLimit.allow(address.host, at: now) else {
            counters.queriesDropped += 1
            return
        }
        let ip = address.compact.map { Array($0.dropLast(2)) } ?? []
        var response = KRPCResponse(sender: ownID)
        var body: KRPCMessage.Body
        switch query.method {
        case .ping:
            body = .response(response)
        case .findNode(let target):
            setNodes(&response, closestTo: target)
            body = .response(response)
        case .getPeers(let infoHash):
            response.token = tokens.token(for: ip, at: now)
            response.values = announced.peers(for: infoHash, at: now)
            setNodes(&response, closestTo: infoHash)
            body = .response(response)
        case .announcePeer(let infoHash, let port, let token, let impliedPort):
            let peerPort = impliedPort ? address.port : port
            if !tokens.isValid(token, for: ip, at: now) {
                body = .error(code: 203, message: "bad token")
            } else if peerPort == 0 {
                body = .error(code: 203, message: "bad port")
            } else if !announced.add(PeerAddress(host: address.host, port: peerPort), for: infoHash, at: now) {
                body = .error(code: 202, message: "too many torrents")
            } else {
                body = .response(response)
            }
        case .unknown:
            body = .error(code: 204, message: "method unknown")
        }
        counters.queriesAnswered += 1
        let reply = KRPCMessage(
            transaction: message.transaction, body: body, version: Self.version, requester: address)
        emit(reply, to: address, into: &step)
        // After the answer, which it is therefore not in: it is not confirmed yet.
        heard(
            DHTNode(id: query.sender, address: address), answered: false, readOnly: message.readOnly, now: now,
            into: &step)
    }

    private func setNodes(_ response: inout KRPCResponse, closestTo target: NodeID) {
        let nodes = table.closest(to: target)
        if family == .ipv4 { response.nodes = nodes } else { response.nodes6 = nodes }
    }

    /// `node` answered us (`answered`) or queried us: the table hears of it (unless it is read-only,
    /// BEP 43). A full bucket of questionable nodes gets one of them pinged; a node added unconfirmed
    /// is pinged, to be confirmed by its answer.
    private mutating func heard(
        _ node: DHTNode, answered: Bool, readOnly: Bool, now: ContinuousClock.Instant, into step: inout Step
    ) {
        guard !readOnly else { return }
        let toPing: DHTNode
        switch table.heard(from: node, at: now, answered: answered) {
        case .pingFirst(let questionable): toPing = questionable
        case .addedUnconfirmed: toPing = node
        case .added, .waiting, .refused: return
        }
        guard pinging.insert(toPing.id).inserted else { return }
        if !send(.ping, to: toPing.address, expecting: toPing.id, for: .ping, now: now, into: &step) {
            pinging.remove(toPing.id)
        }
    }

    /// Sends a query of ours, remembered under a fresh transaction id. False when too many wait.
    @discardableResult
    private mutating func send(
        _ method: KRPCQuery.Method, to address: PeerAddress, expecting id: NodeID?, for purpose: Purpose,
        now: ContinuousClock.Instant, into step: inout Step
    ) -> Bool {
        guard pending.count < Self.maxPending else { return false }
        var key = nextTransaction
        while pending[key] != nil { key &+= 1 }
        nextTransaction = key &+ 1
        pending[key] = Pending(address: address, id: id, sentAt: now, purpose: purpose)
        let message = KRPCMessage(
            transaction: [UInt8(key >> 8), UInt8(key & 0xff)],
            body: .query(KRPCQuery(sender: ownID, method: method)), version: Self.version, readOnly: readOnly)
        emit(message, to: address, isQuery: true, into: &step)
        return true
    }

    private mutating func emit(
        _ message: KRPCMessage, to address: PeerAddress, isQuery: Bool = false, into step: inout Step
    ) {
        let bytes = message.encoded
        counters.packetsOut += 1
        counters.bytesOut += Int64(bytes.count)
        step.packets.append(Outgoing(address: address, bytes: bytes, isQuery: isQuery))
    }

    // MARK: Time

    /// The clock moved to `now`: lookups ask beside their slow queries, queries that waited too long
    /// fail (their nodes are blamed), lookups go on, stale buckets are refreshed.
    public mutating func tick(now: ContinuousClock.Instant) -> Step {
        var step = Step()
        for (key, query) in pending where !query.slow && now - query.sentAt >= Self.slowAfter {
            guard case .lookup(let lookup) = query.purpose else { continue }
            pending[key]!.slow = true
            guard lookups[lookup] != nil else { continue }
            lookups[lookup]!.lookup.slow(query.address)
            advance(lookup, now: now, into: &step)
        }
        let expired = pending.filter { now - $0.value.sentAt >= Self.queryTimeout }
        for (key, query) in expired {
            pending[key] = nil
            if let id = query.id {
                table.failed(id)
                pinging.remove(id)
            }
            if case .lookup(let lookup) = query.purpose, lookups[lookup] != nil {
                lookups[lookup]!.lookup.failed(query.address)
                advance(lookup, now: now, into: &step)
            }
        }
        if now - lastRefresh >= .seconds(60) {
            lastRefresh = now
            announced.expire(at: now)
            if table.usableCount > 0 {
                for target in table.idsToRefresh(olderThan: Self.refreshAge, at: now) {
                    _ = startLookup(.findNode, target: target, reports: false, now: now, into: &step)
                }
            }
        }
        return step
    }

    // MARK: Our address (BEP 42)

    /// A node told us the address it sees us at. Once ``votesForAddress`` agree on an address whose
    /// ids are restricted (a public one) and ours does not fit it, we take an id that does (keeping
    /// the table's nodes).
    private mutating func vote(for host: PeerAddress.Host, now: ContinuousClock.Instant) {
        let ip: [UInt8]
        switch host {
        case .ipv4(let a, let b, let c, let d): ip = [a, b, c, d]
        case .ipv6(let bytes): ip = bytes
        case .name: return
        }
        guard !SecureNodeID.isExempt(ip), !SecureNodeID.isValid(ownID, for: ip) else { return }
        if addressVotes.count > 64 { addressVotes.removeAll() }
        addressVotes[host, default: 0] += 1
        guard addressVotes[host]! >= Self.votesForAddress,
            let id = SecureNodeID.make(for: ip, random: UInt8.random(in: 0...7))
        else { return }
        addressVotes.removeAll()
        var renewed = RoutingTable(ownID: id, now: now)
        for entry in table.entries where !entry.isBad {
            renewed.heard(from: entry.node, at: entry.lastSeen, answered: entry.answered)
        }
        table = renewed
    }

    // MARK: What is saved and shown

    /// The nodes worth saving: every usable node of the table (confirmed, not bad).
    public func nodesToSave(now: ContinuousClock.Instant, wallClock: Timestamp) -> [DHTSavedNode] {
        table.entries.filter(\.isUsable).map { entry in
            let age = now - entry.lastSeen
            let ageMilliseconds = age.components.seconds * 1000 + age.components.attoseconds / 1_000_000_000_000_000
            return DHTSavedNode(
                id: entry.node.id, address: entry.node.address,
                lastSeen: Timestamp(rawValue: wallClock.rawValue - max(0, ageMilliseconds)))
        }
    }

    /// The node's state as `btq dht` shows it.
    public func status(
        address: String, startedAt: Timestamp, now: ContinuousClock.Instant, wallClock: Timestamp
    ) -> DHTStatus {
        let buckets = table.buckets.enumerated().map { depth, bucket in
            let good = bucket.entries.filter { $0.isGood(at: now) }.count
            return DHTStatus.Bucket(
                depth: depth, good: good, questionable: bucket.entries.count - good,
                replacements: bucket.replacements.count)
        }
        let lookups = self.lookups.values.map { running in
            DHTStatus.Lookup(
                kind: running.lookup.kind.rawValue, target: running.lookup.target.description,
                queried: running.lookup.queriesSent, inFlight: running.lookup.awaiting)
        }
        return DHTStatus(
            nodeID: ownID.description, address: address, readOnly: readOnly, buckets: buckets,
            lookups: lookups, torrents: announced.torrentCount, peers: announced.peerCount,
            packetsIn: counters.packetsIn, packetsOut: counters.packetsOut, bytesIn: counters.bytesIn,
            bytesOut: counters.bytesOut, queriesAnswered: counters.queriesAnswered,
            queriesDropped: counters.queriesDropped, startedAt: startedAt, savedAt: wallClock)
    }
}
