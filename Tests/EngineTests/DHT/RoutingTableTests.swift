import Testing

@testable import Engine

/// The routing table as a value: buckets that split around our id, full buckets that keep good nodes,
/// bad nodes replaced, the closest nodes, refresh targets, its size cap, and nodes heard only through
/// their queries kept out of use until they answer.
@Suite(.timeLimit(.minutes(1))) struct RoutingTableTests {
    static let own = NodeID(high: 0, middle: 0, low: 0)
    static let start = ContinuousClock.now

    /// A node whose id starts with `prefix` (then `tag`), on a loopback address.
    static func node(high: UInt64, tag: UInt32 = 0) -> DHTNode {
        DHTNode(
            id: NodeID(high: high, middle: 0, low: tag),
            address: PeerAddress(host: .ipv4(127, 0, UInt8(tag % 250), 1), port: UInt16(6_000 + tag % 1_000)))
    }

    /// `count` nodes whose first bit differs from ours: they all share no prefix with us.
    static func far(_ count: Int) -> [DHTNode] {
        (0..<count).map { node(high: 1 << 63 | UInt64($0), tag: UInt32($0)) }
    }

    @Test func aFullFarBucketKeepsItsGoodNodesAndTheNearBucketSplits() {
        var table = RoutingTable(ownID: Self.own, now: Self.start)
        let ourselves = table.heard(
            from: DHTNode(id: Self.own, address: Self.far(1)[0].address), at: Self.start, answered: true)
        #expect(ourselves == .refused)
        for node in Self.far(8) {
            let outcome = table.heard(from: node, at: Self.start, answered: true)
            #expect(outcome == .added)
        }
        let ninth = table.heard(from: Self.node(high: 1 << 63 | 100, tag: 100), at: Self.start, answered: true)
        #expect(ninth == .waiting)
        #expect(table.count == 8)
        // Near our id: the bucket holding our id split off, and takes it.
        let near = Self.node(high: 1, tag: 307)
        let nearOutcome = table.heard(from: near, at: Self.start, answered: true)
        #expect(nearOutcome == .added)
        #expect(table.count == 9)
        #expect(table.buckets.count == 2)
        #expect(table.closest(to: Self.own, count: 1) == [near])
    }

    @Test func questionableNodesArePingedFirstAndBadOnesReplaced() {
        var table = RoutingTable(ownID: Self.own, now: Self.start)
        let nodes = Self.far(8)
        for node in nodes { table.heard(from: node, at: Self.start, answered: true) }
        _ = table.heard(from: Self.node(high: 1, tag: 999), at: Self.start, answered: true)  // splits once
        let later = Self.start + RoutingTable.goodFor + .seconds(1)
        let newcomer = Self.node(high: 1 << 63 | 500, tag: 500)
        guard case .pingFirst(let questionable) = table.heard(from: newcomer, at: later, answered: true) else {
            Issue.record("a full bucket of stale nodes asks for a ping")
            return
        }
        #expect(nodes.contains(questionable))
        table.failed(questionable.id)
        #expect(table.entries.contains { $0.node == questionable }, "one failure is not enough")
        table.failed(questionable.id)
        #expect(!table.entries.contains { $0.node == questionable })
        #expect(table.entries.contains { $0.node == newcomer }, "the candidate took its place")
    }

    /// Anybody can send a query from any address under any id: a node heard only that way is
    /// unconfirmed, never handed out, and usable once it answers (the node pings it).
    @Test func aNodeHeardOnlyThroughItsQueriesIsUsedOnceItAnswers() {
        var table = RoutingTable(ownID: Self.own, now: Self.start)
        let querier = Self.far(1)[0]
        #expect(table.heard(from: querier, at: Self.start, answered: false) == .addedUnconfirmed)
        #expect(table.count == 1 && table.usableCount == 0)
        #expect(table.closest(to: querier.id).isEmpty)
        #expect(table.heard(from: querier, at: Self.start, answered: false) == .added)
        #expect(table.usableCount == 0)
        #expect(table.heard(from: querier, at: Self.start, answered: true) == .added)
        #expect(table.usableCount == 1 && table.closest(to: querier.id) == [querier])
        #expect(table.entries.first?.isGood(at: Self.start) == true)
    }

    /// A flood of queries under made-up ids near ours takes the empty places and no more: it splits
    /// no bucket, displaces nobody, and gives way to nodes that answer. A query (or an answer) that
    /// claims a known node's id from another address does not move it.
    @Test func queriersNeitherSplitNorDisplaceAndGiveWayToNodesThatAnswer() {
        var table = RoutingTable(ownID: Self.own, now: Self.start)
        for index in 0..<1_000 {
            table.heard(from: Self.node(high: UInt64(index + 1), tag: UInt32(index)), at: Self.start, answered: false)
        }
        #expect(table.buckets.count == 1 && table.count == 8 && table.usableCount == 0)
        #expect(table.buckets[0].replacements.count == RoutingTable.bucketSize)
        let honest = Self.far(8)
        for node in honest { #expect(table.heard(from: node, at: Self.start, answered: true) == .added) }
        #expect(table.count == 8 && table.usableCount == 8)
        #expect(Set(table.closest(to: Self.own, count: 8)) == Set(honest))
        let impostor = DHTNode(id: honest[0].id, address: PeerAddress(host: .ipv4(127, 9, 9, 9), port: 1))
        #expect(table.heard(from: impostor, at: Self.start, answered: false) == .refused)
        #expect(table.heard(from: impostor, at: Self.start, answered: true) == .refused)
        #expect(table.closest(to: honest[0].id, count: 1) == [honest[0]])
    }

    /// An unconfirmed node that does not answer its ping is bad at once; only a replacement that
    /// answered us takes a bad node's place.
    @Test func onlyAReplacementThatAnsweredTakesABadNodesPlace() {
        var table = RoutingTable(ownID: Self.own, now: Self.start)
        let nodes = Self.far(8)
        #expect(table.heard(from: nodes[0], at: Self.start, answered: false) == .addedUnconfirmed)
        table.failed(nodes[0].id)
        #expect(table.entries.first?.isBad == true && table.usableCount == 0)
        for node in nodes.dropFirst() { table.heard(from: node, at: Self.start, answered: true) }
        let queried = Self.node(high: 1 << 63 | 600, tag: 600)
        // The bad node's place goes to a node that answered, never to one that only queried.
        #expect(table.heard(from: queried, at: Self.start, answered: false) == .waiting)
        #expect(!table.entries.contains { $0.node == queried })
        let answering = Self.node(high: 1 << 63 | 700, tag: 700)
        #expect(table.heard(from: answering, at: Self.start, answered: true) == .added)
        #expect(table.entries.contains { $0.node == answering } && !table.entries.contains { $0.node == nodes[0] })
        // A good node that fails twice is replaced by the replacement that answered, not the querier.
        let later = Self.start + RoutingTable.goodFor + .seconds(1)
        let answeredLater = Self.node(high: 1 << 63 | 800, tag: 800)
        guard case .pingFirst(let stale) = table.heard(from: answeredLater, at: later, answered: true) else {
            Issue.record("a full bucket of stale nodes asks for a ping")
            return
        }
        _ = table.heard(from: Self.node(high: 1 << 63 | 900, tag: 900), at: later, answered: false)
        table.failed(stale.id)
        table.failed(stale.id)
        #expect(table.entries.contains { $0.node == answeredLater })
        #expect(!table.entries.contains { $0.node.id == NodeID(high: 1 << 63 | 900, middle: 0, low: 900) })
    }

    @Test func theClosestComeFirstAndRefreshTargetsFallInTheirBuckets() {
        var table = RoutingTable(ownID: Self.own, now: Self.start)
        var all: [DHTNode] = []
        for index in 0..<40 {
            let node = Self.node(high: UInt64(index + 1) << 50, tag: UInt32(index))
            table.heard(from: node, at: Self.start, answered: true)
            all.append(node)
        }
        let target = NodeID(high: 5 << 50, middle: 0, low: 0)
        let closest = table.closest(to: target, count: 4)
        #expect(closest.count == 4)
        #expect(closest.first?.id == NodeID(high: 5 << 50, middle: 0, low: 4))
        let distances = closest.map { $0.id.distance(to: target) }
        #expect(distances == distances.sorted())

        let refresh = table.idsToRefresh(olderThan: .seconds(900), at: Self.start + .seconds(901))
        #expect(refresh.count == table.buckets.count)
        for (index, id) in refresh.enumerated() { #expect(table.bucketIndex(of: id) == index) }
        let again = table.idsToRefresh(olderThan: .seconds(900), at: Self.start + .seconds(902))
        #expect(again.isEmpty)
    }

    @Test func tenThousandNodesStayWithinTheCap() {
        var table = RoutingTable(ownID: NodeID.random(), now: Self.start)
        for index in 0..<10_000 {
            let node = DHTNode(
                id: NodeID.random(), address: PeerAddress(host: .ipv4(127, 1, 0, 1), port: UInt16(index % 60_000 + 1)))
            table.heard(from: node, at: Self.start, answered: true)
        }
        #expect(table.buckets.count <= 160)
        #expect(table.count <= 160 * RoutingTable.bucketSize)
        #expect(table.buckets.allSatisfy { $0.entries.count <= 8 && $0.replacements.count <= 8 })
        // About log2(10,000 / 8) buckets: the table holds the near ids, not everything it heard.
        #expect(table.count < 200)
    }

    @Test func closestAgreesWithSortingTheWholeTable() {
        var table = RoutingTable(ownID: .random(), now: Self.start)
        for index in 0..<3_000 {
            let address = PeerAddress(host: .ipv4(127, UInt8(index >> 8 & 0xff), UInt8(index & 0xff), 1), port: 6881)
            table.heard(from: DHTNode(id: .random(), address: address), at: Self.start, answered: true)
        }
        // Some close to our own id, so the table splits deep.
        for depth in 0..<40 {
            var bytes = table.ownID.bytes
            bytes[depth / 8] ^= 0x80 >> UInt8(depth % 8)
            bytes[19] ^= UInt8(depth)
            let address = PeerAddress(host: .ipv4(10, 0, UInt8(depth), 1), port: 6881)
            table.heard(from: DHTNode(id: NodeID(bytes)!, address: address), at: Self.start, answered: true)
        }
        for _ in 0..<20 {
            let target = NodeID.random()
            let sorted = table.entries.filter(\.isUsable).map(\.node)
                .sorted { $0.id.distance(to: target) < $1.id.distance(to: target) }
            for count in [1, 8, 16] {
                #expect(table.closest(to: target, count: count) == Array(sorted.prefix(count)))
            }
        }
        #expect(table.closest(to: .random(), count: 0).isEmpty)
    }
}
