import Testing

@testable import Engine

/// DHT nodes as values talking to each other in memory: bootstrap, lookups that find announced peers,
/// and what hostile input gets (floods, forged answers, bad tokens, our own id).
@Suite(.timeLimit(.minutes(1))) struct DHTNodeCoreTests {
    static let start = ContinuousClock.now

    /// Nodes at 127.0.0.(index + 1):6881 that pass packets to each other instantly.
    struct Network {
        var nodes: [DHTNodeCore]
        var events: [Int: [DHTNodeCore.Event]] = [:]
        var now = DHTNodeCoreTests.start
        /// Packets sent to an address of no node (they are lost).
        var lost = 0

        init(count: Int, readOnly: Set<Int> = []) {
            nodes = (0..<count).map { index in
                DHTNodeCore(
                    family: .ipv4, id: .random(), readOnly: readOnly.contains(index), now: DHTNodeCoreTests.start)
            }
        }

        static func address(_ index: Int) -> PeerAddress {
            PeerAddress(host: .ipv4(127, 0, UInt8(index / 250), UInt8(index % 250 + 1)), port: 6881)
        }

        static func index(of address: PeerAddress) -> Int? {
            guard case .ipv4(127, 0, let high, let low) = address.host, address.port == 6881, low > 0 else {
                return nil
            }
            return Int(high) * 250 + Int(low) - 1
        }

        /// Delivers `step`'s packets (sent by node `from`) and every packet they cause, in order.
        mutating func deliver(_ step: DHTNodeCore.Step, from: Int) {
            events[from, default: []] += step.events
            var queue = step.packets.map { (from, $0) }
            var delivered = 0
            while !queue.isEmpty, delivered < 100_000 {
                let (sender, packet) = queue.removeFirst()
                delivered += 1
                guard let target = Self.index(of: packet.address), target < nodes.count else {
                    lost += 1
                    continue
                }
                let reply = nodes[target].received(packet.bytes, from: Self.address(sender), now: now)
                events[target, default: []] += reply.events
                queue += reply.packets.map { (target, $0) }
            }
        }

        /// Node `index` joins through node 0.
        mutating func bootstrap(_ index: Int) {
            var step = DHTNodeCore.Step()
            _ = nodes[index].startLookup(
                .findNode, target: nodes[index].ownID, seeds: [Self.address(0)], reports: false, now: now, into: &step)
            deliver(step, from: index)
        }

        /// Node `index` looks up `infoHash` (announcing `port` when given); the peers it reported.
        mutating func lookUp(_ infoHash: NodeID, from index: Int, announcing port: UInt16? = nil) -> [PeerAddress] {
            events[index] = []
            var step = DHTNodeCore.Step()
            let lookup = nodes[index].startLookup(
                .getPeers, target: infoHash, announcePort: port, now: now, into: &step)
            deliver(step, from: index)
            var peers: [PeerAddress] = []
            for case .peers(let id, let batch) in events[index] ?? [] where id == lookup { peers += batch }
            return peers
        }

        func finished(_ index: Int) -> Bool {
            (events[index] ?? []).contains { if case .finished = $0 { return true } else { return false } }
        }
    }

    @Test func nodesBootstrapFromOneAndFindTheNodesClosestToThem() {
        var network = Network(count: 30)
        for index in 1..<30 { network.bootstrap(index) }
        // A second round: early joiners learn of later ones.
        for index in 1..<30 { network.bootstrap(index) }
        for index in 0..<30 {
            #expect(network.nodes[index].table.count >= 8, "node \(index) knows \(network.nodes[index].table.count)")
        }
        #expect(network.lost == 0)
    }

    @Test func aPeerAnnouncedByOneNodeIsFoundByAnother() {
        var network = Network(count: 40)
        for index in 1..<40 { network.bootstrap(index) }
        let infoHash = NodeID.random()
        let announcer = network.lookUp(infoHash, from: 7, announcing: 51413)
        #expect(announcer.isEmpty)
        #expect(network.finished(7))
        let found = network.lookUp(infoHash, from: 33)
        #expect(found == [PeerAddress(host: .ipv4(127, 0, 0, 8), port: 51413)])
        #expect(network.finished(33))
        let stored = network.nodes.reduce(0) {
            $0 + $1.status(address: "", startedAt: .now, now: network.now, wallClock: .now).peers
        }
        #expect(stored >= 1 && stored <= 8)
    }

    /// Found by the node's fuzz target: a lookup asked to announce port 0 sent an `announce_peer` with
    /// port 0, which no node takes (ours refuses to decode it). Port 0 announces nothing.
    @Test func aLookupAskedToAnnouncePortZeroAnnouncesNothing() {
        var network = Network(count: 12)
        for index in 1..<12 { network.bootstrap(index) }
        let infoHash = NodeID.random()
        _ = network.lookUp(infoHash, from: 4, announcing: 0)
        #expect(network.finished(4))
        let stored = network.nodes.reduce(0) {
            $0 + $1.status(address: "", startedAt: .now, now: network.now, wallClock: .now).peers
        }
        #expect(stored == 0)
        #expect(network.nodes.allSatisfy { $0.counters.queriesDropped == 0 }, "no packet was refused")
    }

    @Test func aLookupWithNoNodesEndsAtOnce() {
        var node = DHTNodeCore(family: .ipv4, id: .random(), readOnly: false, now: Self.start)
        var step = DHTNodeCore.Step()
        let id = node.startLookup(.getPeers, target: .random(), now: Self.start, into: &step)
        #expect(step.packets.isEmpty)
        #expect(step.events == [.finished(lookup: id!)])
    }

    @Test func unansweredQueriesTimeOutAndTheLookupEnds() {
        var node = DHTNodeCore(family: .ipv4, id: .random(), readOnly: false, now: Self.start)
        var step = DHTNodeCore.Step()
        let seeds = (1...3).map { Network.address($0) }
        let id = node.startLookup(.getPeers, target: .random(), seeds: seeds, now: Self.start, into: &step)
        #expect(step.packets.count == 3)
        #expect(step.events.isEmpty)
        let early = node.tick(now: Self.start + .seconds(1))
        #expect(early.events.isEmpty)
        let late = node.tick(now: Self.start + DHTNodeCore.queryTimeout)
        #expect(late.events == [.finished(lookup: id!)])
        #expect(node.lookupCount == 0)
    }

    /// Nodes that never answer (a liar's made-up ones) hold a lookup's places for a second each, not
    /// for a query timeout: after ``DHTNodeCore/slowAfter`` the next candidates are asked beside them,
    /// a late answer still counts, and the lookup ends once every query is answered or timed out.
    @Test func aLookupAsksBesideSlowQueriesAndStillTakesTheirLateAnswers() throws {
        var node = DHTNodeCore(family: .ipv4, id: .random(), readOnly: false, now: Self.start)
        var step = DHTNodeCore.Step()
        let seeds = (1...6).map { Network.address($0) }
        let id = try #require(
            node.startLookup(.getPeers, target: .random(), seeds: seeds, now: Self.start, into: &step))
        #expect(step.packets.map(\.address) == Array(seeds.prefix(DHTLookup.parallelism)))
        let first = try KRPCMessage(decoding: step.packets[0].bytes)
        #expect(node.tick(now: Self.start + .milliseconds(900)).packets.isEmpty)
        let beside = node.tick(now: Self.start + DHTNodeCore.slowAfter)
        #expect(beside.packets.map(\.address) == Array(seeds.dropFirst(DHTLookup.parallelism)))
        #expect(beside.events.isEmpty)
        // The first node answers late, with a peer: taken.
        let peer = PeerAddress(host: .ipv4(127, 0, 9, 9), port: 51_413)
        let late = KRPCMessage(
            transaction: first.transaction,
            body: .response(KRPCResponse(sender: .random(), values: [peer], token: [1, 2, 3])))
        let answered = node.received(late.encoded, from: seeds[0], now: Self.start + .seconds(2))
        #expect(answered.events == [.peers(lookup: id, [peer])])
        // The others time out: the lookup ends (announcing nothing: no port was given).
        let end = node.tick(now: Self.start + DHTNodeCore.slowAfter + DHTNodeCore.queryTimeout)
        #expect(end.events == [.finished(lookup: id)])
        #expect(node.lookupCount == 0)
    }

    /// Encodes a query from `sender`.
    static func query(
        _ method: KRPCQuery.Method, from sender: NodeID, transaction: UInt8 = 1, readOnly: Bool = false
    )
        -> [UInt8]
    {
        KRPCMessage(
            transaction: [transaction], body: .query(KRPCQuery(sender: sender, method: method)), readOnly: readOnly
        ).encoded
    }

    @Test func aFloodOfQueriesFromOneAddressIsCutToItsRate() {
        var node = DHTNodeCore(family: .ipv4, id: .random(), readOnly: false, now: Self.start)
        let flooder = Network.address(9)
        var answered = 0
        for index in 0..<500 {
            let step = node.received(
                Self.query(.ping, from: .random(), transaction: UInt8(index % 256)), from: flooder, now: Self.start)
            answered += step.packets.count { !$0.isQuery }
        }
        #expect(answered == Int(DHTRateLimit.burst))
        #expect(node.counters.queriesDropped == Int64(500 - answered))
        // Another address is still answered, and the flooder again once its bucket refilled.
        #expect(
            node.received(Self.query(.ping, from: .random()), from: Network.address(10), now: Self.start).packets
                .count { !$0.isQuery } == 1)
        let later = node.received(Self.query(.ping, from: .random()), from: flooder, now: Self.start + .seconds(1))
        #expect(later.packets.count { !$0.isQuery } == 1)
    }

    /// 2,000 queries from 200 addresses under made-up ids (nodes that never answer) before a lookup:
    /// they do not take over the table the lookup starts from, so it asks only nodes that answered and
    /// finds the announced peer without waiting for a single timeout.
    @Test func queriesUnderMadeUpIdsDoNotTakeOverTheTable() {
        var network = Network(count: 20)
        for index in 1..<20 { network.bootstrap(index) }
        let infoHash = NodeID.random()
        _ = network.lookUp(infoHash, from: 3, announcing: 51_413)
        var pings = 0
        for index in 0..<2_000 {
            let flooder = PeerAddress(host: .ipv4(127, 0, 3, UInt8(index % 200 + 1)), port: 6881)
            let step = network.nodes[7].received(
                Self.query(.findNode(target: .random()), from: .random()), from: flooder, now: network.now)
            #expect(step.packets.count { !$0.isQuery } == 1)
            pings += step.packets.count(where: \.isQuery)
            // Its answers, and its pings to confirm the flooders it took into empty places, are lost.
            network.deliver(step, from: 7)
        }
        #expect(pings <= 200, "at most one ping per flooding address: \(pings)")
        let lost = network.lost
        let found = network.lookUp(infoHash, from: 7)
        #expect(found == [PeerAddress(host: .ipv4(127, 0, 0, 4), port: 51_413)])
        #expect(network.finished(7))
        #expect(network.lost == lost, "the lookup asked no flooder")
    }

    @Test func aFloodFromManyAddressesKeepsTheRateTableBounded() {
        var limit = DHTRateLimit()
        var allowed = 0
        for index in 0..<(DHTRateLimit.maxAddresses + 1_000) {
            let host = PeerAddress.Host.ipv4(
                10, UInt8(index >> 16 & 0xff), UInt8(index >> 8 & 0xff), UInt8(index & 0xff))
            if limit.allow(host, at: Self.start) { allowed += 1 }
        }
        #expect(allowed == DHTRateLimit.maxAddresses)
    }

    @Test func announcesNeedTheTokenGivenToThatAddress() throws {
        var node = DHTNodeCore(family: .ipv4, id: .random(), readOnly: false, now: Self.start)
        let infoHash = NodeID.random()
        let peer = Network.address(4)
        let answer = node.received(
            Self.query(.getPeers(infoHash: infoHash), from: .random()), from: peer, now: Self.start)
        let decoded = try KRPCMessage(decoding: try #require(answer.packets.first).bytes)
        guard case .response(let response) = decoded.body, let token = response.token else {
            Issue.record("no token in \(decoded)")
            return
        }
        #expect(decoded.requester == peer)
        // The same token from another address is refused; from its own address it stores the peer.
        let forged = node.received(
            Self.query(
                .announcePeer(infoHash: infoHash, port: 7000, token: token, impliedPort: false), from: .random()),
            from: Network.address(5), now: Self.start)
        let refusal = try KRPCMessage(decoding: try #require(forged.packets.first).bytes)
        #expect(refusal.body == .error(code: 203, message: "bad token"))
        _ = node.received(
            Self.query(.announcePeer(infoHash: infoHash, port: 7000, token: token, impliedPort: true), from: .random()),
            from: peer, now: Self.start)
        let again = node.received(
            Self.query(.getPeers(infoHash: infoHash), from: .random()), from: Network.address(6), now: Self.start)
        let values = try KRPCMessage(decoding: try #require(again.packets.first).bytes)
        guard case .response(let second) = values.body else {
            Issue.record("not a response: \(values)")
            return
        }
        // implied_port: the port the query came from.
        #expect(second.values == [peer])
    }

    @Test func answersFromAnotherAddressOrUnderAnUnknownTransactionAreIgnored() throws {
        var node = DHTNodeCore(family: .ipv4, id: .random(), readOnly: false, now: Self.start)
        var step = DHTNodeCore.Step()
        let asked = Network.address(1)
        _ = node.startLookup(.findNode, target: .random(), seeds: [asked], now: Self.start, into: &step)
        let query = try KRPCMessage(decoding: try #require(step.packets.first).bytes)
        let liar = DHTNode(id: .random(), address: Network.address(66))
        let forged = KRPCMessage(
            transaction: query.transaction, body: .response(KRPCResponse(sender: .random(), nodes: [liar])))
        _ = node.received(forged.encoded, from: Network.address(2), now: Self.start)
        #expect(node.table.count == 0)
        let unknown = KRPCMessage(
            transaction: [0xee, 0xee, 0xee], body: .response(KRPCResponse(sender: .random(), nodes: [liar])))
        _ = node.received(unknown.encoded, from: asked, now: Self.start)
        #expect(node.table.count == 0)
        let real = KRPCMessage(transaction: query.transaction, body: .response(KRPCResponse(sender: .random())))
        _ = node.received(real.encoded, from: asked, now: Self.start)
        #expect(node.table.count == 1)
    }

    @Test func aNodeClaimingOurIdIsNeitherAnsweredNorAdded() {
        var node = DHTNodeCore(family: .ipv4, id: .random(), readOnly: false, now: Self.start)
        let step = node.received(Self.query(.ping, from: node.ownID), from: Network.address(3), now: Self.start)
        #expect(step.packets.isEmpty)
        #expect(node.table.count == 0)
    }

    @Test func aReadOnlyNodeAsksButIsNotAnsweredIntoTablesNorAnswers() throws {
        var network = Network(count: 12, readOnly: [11])
        for index in 1..<11 { network.bootstrap(index) }
        network.bootstrap(11)
        #expect(network.nodes[11].table.count >= 8)
        for index in 0..<11 {
            #expect(!network.nodes[index].table.entries.contains { $0.node.id == network.nodes[11].ownID })
        }
        let ping = network.nodes[11].received(
            Self.query(.ping, from: .random()), from: Network.address(2), now: network.now)
        #expect(ping.packets.isEmpty)
        // Its lookups still work.
        let infoHash = NodeID.random()
        _ = network.lookUp(infoHash, from: 3, announcing: 6000)
        #expect(network.lookUp(infoHash, from: 11) == [PeerAddress(host: .ipv4(127, 0, 0, 4), port: 6000)])
    }

    @Test func malformedAndOversizedPacketsAreCountedAndIgnored() {
        var node = DHTNodeCore(family: .ipv4, id: .random(), readOnly: false, now: Self.start)
        for packet in [[UInt8](), Array("d1:y1:q".utf8), [UInt8](repeating: 0x64, count: 5_000)] {
            #expect(node.received(packet, from: Network.address(1), now: Self.start).packets.isEmpty)
        }
        // An IPv6 sender on an IPv4 node.
        let v6 = PeerAddress(host: .ipv6([UInt8](repeating: 0, count: 15) + [1]), port: 6881)
        #expect(node.received(Self.query(.ping, from: .random()), from: v6, now: Self.start).packets.isEmpty)
        #expect(node.counters.queriesDropped == 4)
        #expect(node.counters.packetsIn == 4)
    }

    @Test func savedNodesComeBackQuestionableAndAreAskedFirst() {
        var network = Network(count: 20)
        for index in 1..<20 { network.bootstrap(index) }
        let saved = network.nodes[5].nodesToSave(now: network.now, wallClock: .now)
        #expect(saved.count == network.nodes[5].table.count)
        let restored = DHTNodeCore(
            family: .ipv4, id: network.nodes[5].ownID, readOnly: false,
            saved: saved.map { DHTNode(id: $0.id, address: $0.address) }, now: network.now)
        #expect(restored.table.count == saved.count)
        #expect(restored.table.entries.allSatisfy { !$0.isGood(at: network.now) })
        // Without any bootstrap node, a lookup from the restored table reaches the network.
        network.nodes[5] = restored
        let infoHash = NodeID.random()
        _ = network.lookUp(infoHash, from: 12, announcing: 9000)
        #expect(network.lookUp(infoHash, from: 5) == [PeerAddress(host: .ipv4(127, 0, 0, 13), port: 9000)])
    }

    @Test func threeNodesThatSeeUsAtAPublicAddressGiveUsAnIdForIt() throws {
        var node = DHTNodeCore(
            family: .ipv4, id: NodeID(Array(repeating: 0, count: 20))!, readOnly: false, now: Self.start)
        let publicAddress = PeerAddress(host: .ipv4(124, 31, 75, 21), port: 6881)
        #expect(!SecureNodeID.isValid(node.ownID, for: [124, 31, 75, 21]))
        var step = DHTNodeCore.Step()
        let seeds = (1...3).map { Network.address($0) }
        _ = node.startLookup(.findNode, target: .random(), seeds: seeds, now: Self.start, into: &step)
        for packet in step.packets {
            let query = try KRPCMessage(decoding: packet.bytes)
            let answer = KRPCMessage(
                transaction: query.transaction, body: .response(KRPCResponse(sender: .random())),
                requester: publicAddress)
            _ = node.received(answer.encoded, from: packet.address, now: Self.start)
        }
        #expect(SecureNodeID.isValid(node.ownID, for: [124, 31, 75, 21]))
        // The nodes it knew stay in its table.
        #expect(node.table.count == 3)
    }
}

/// The queue of lookups waiting for a slot: in order, withdrawn by ticket, bounded.
/// The waits between a torrent's lookups: short while it is short of peers, growing, then the interval.
@Suite struct DHTTorrentSearchPacingTests {
    @Test func aTorrentShortOfPeersLooksAgainSoonerAndSoonerLessOften() {
        var pacing = DHTTorrentSearch.Pacing()
        var waits: [Duration] = []
        for _ in 0..<8 { waits.append(pacing.pause(shortOfPeers: true)) }
        #expect(waits == [5, 10, 20, 40, 80, 160, 300, 300].map { Duration.seconds($0) })
        #expect(pacing.pause(shortOfPeers: false) == DHTTorrentSearch.interval)
        #expect(pacing.pause(shortOfPeers: false) == DHTTorrentSearch.interval)
        // Short again (its peers left): from the first retry again.
        #expect(pacing.pause(shortOfPeers: true) == DHTTorrentSearch.firstRetry)
    }
}

@Suite struct WaitingLookupsTests {
    static func entry(_ port: UInt16) -> WaitingLookups.Entry {
        let (_, continuation) = AsyncStream.makeStream(of: [PeerAddress].self)
        return WaitingLookups.Entry(target: .random(), announcePort: port, continuation: continuation)
    }

    @Test func entriesComeOutInOrderLessThoseWithdrawn() {
        var queue = WaitingLookups()
        var tickets: [Int] = []
        for port in 1...10 { tickets.append(queue.append(Self.entry(UInt16(port)))!) }
        queue.remove(tickets[2])
        queue.remove(tickets[2])
        var ports: [UInt16] = []
        for _ in 0..<4 { ports.append(queue.popFirst()!.announcePort!) }
        queue.remove(tickets[7])
        while let entry = queue.popFirst() { ports.append(entry.announcePort!) }
        #expect(ports == [1, 2, 4, 5, 6, 7, 9, 10])
        #expect(queue.isEmpty)
    }

    @Test func itHoldsAtMostItsCapacity() {
        var queue = WaitingLookups()
        for port in 0..<WaitingLookups.capacity {
            #expect(queue.append(Self.entry(UInt16(truncatingIfNeeded: port))) != nil)
        }
        #expect(queue.append(Self.entry(1)) == nil)
        _ = queue.popFirst()
        #expect(queue.append(Self.entry(1)) != nil)
    }
}
