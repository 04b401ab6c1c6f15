import Engine
import Foundation
import GRDB
import Testing

@testable import Store

/// `store.dht`, the engine's ``DHTStateStore``, on real SQLite files: what each family's node saves
/// comes back, a save replaces the last one, a load is bounded, and damaged rows never trap.
@Suite(.timeLimit(.minutes(5))) struct DHTStateTests {
    static func id(_ seed: UInt64) -> NodeID { NodeID(Fixtures.bytes(seed: seed, count: 20))! }

    /// Node `index` of `family`: a distinct address, seen `index` seconds after a fixed time.
    static func node(_ index: Int, _ family: DHTFamily = .ipv4) -> DHTSavedNode {
        let text =
            family == .ipv4
            ? "10.\(index >> 16 & 0xff).\(index >> 8 & 0xff).\(index & 0xff):\(6881 + index % 100)"
            : "[2001:db8::\(String(index, radix: 16))]:\(6881 + index % 100)"
        return DHTSavedNode(
            id: id(UInt64(1000 + index)), address: PeerAddress(parsing: text)!,
            lastSeen: Timestamp(rawValue: 1_700_000_000_000 + Int64(index) * 1000))
    }

    static func status(_ family: DHTFamily, savedAt: Int64 = 1_700_000_100_000) -> DHTStatus {
        DHTStatus(
            nodeID: id(family == .ipv4 ? 1 : 2).description, address: family == .ipv4 ? "0.0.0.0:6881" : "[::]:6881",
            readOnly: family == .ipv6,
            buckets: [
                .init(depth: 0, good: 8, questionable: 0, replacements: 3),
                .init(depth: 1, good: 5, questionable: 2, replacements: 0),
            ],
            lookups: [.init(kind: "get_peers", target: String(repeating: "ab", count: 20), queried: 12, inFlight: 3)],
            torrents: 4, peers: 30, packetsIn: 1200, packetsOut: 1500, bytesIn: 150_000, bytesOut: 90_000,
            queriesAnswered: 800, queriesDropped: 7, startedAt: Timestamp(rawValue: 1_700_000_000_000),
            savedAt: Timestamp(rawValue: savedAt))
    }

    static func state(_ family: DHTFamily, nodes: [DHTSavedNode]) -> DHTSavedState {
        DHTSavedState(family: family, id: id(family == .ipv4 ? 1 : 2), nodes: nodes, status: status(family))
    }

    @Test func nothingSavedLoadsNil() throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        #expect(try store.dht.loadDHTState(family: .ipv4) == nil)
        #expect(try store.dht.loadDHTState(family: .ipv6) == nil)
        #expect(try store.dht.summaries().isEmpty)
    }

    @Test func bothFamiliesRoundTripThroughAReopenedFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        let v4 = Self.state(.ipv4, nodes: (0..<50).map { Self.node($0) })
        let v6 = Self.state(.ipv6, nodes: (0..<20).map { Self.node($0, .ipv6) })
        do {
            let store = try BtqStore(path: path)
            try store.dht.saveDHTState(v4)
            try store.dht.saveDHTState(v6)
        }
        let store = try BtqStore(path: path)
        let newestFirst = { (state: DHTSavedState) in
            var sorted = state
            sorted.nodes.sort { $0.lastSeen > $1.lastSeen }
            return sorted
        }
        #expect(try store.dht.loadDHTState(family: .ipv4) == newestFirst(v4))
        #expect(try store.dht.loadDHTState(family: .ipv6) == newestFirst(v6))
        let summaries = try store.dht.summaries()
        #expect(summaries.map(\.family) == [.ipv4, .ipv6])
        #expect(summaries.map(\.nodeCount) == [50, 20])
        #expect(summaries.map(\.status) == [v4.status, v6.status])
        #expect(summaries.map(\.id) == [v4.id, v6.id])
        #expect(summaries[0].savedAt == v4.status.savedAt)
        // A database opened read-only reads the same.
        let readOnly = try BtqStore.openForReading(path: path)
        #expect(try readOnly.dht.summaries() == summaries)
        #expect(try readOnly.dht.loadDHTState(family: .ipv6) == newestFirst(v6))
    }

    @Test func aSaveReplacesTheFamilysStateAndNodesOnly() throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        try store.dht.saveDHTState(Self.state(.ipv4, nodes: (0..<30).map { Self.node($0) }))
        try store.dht.saveDHTState(Self.state(.ipv6, nodes: (0..<5).map { Self.node($0, .ipv6) }))
        var next = Self.state(.ipv4, nodes: (100..<103).map { Self.node($0) })
        next.id = Self.id(99)
        next.status = Self.status(.ipv4, savedAt: 1_700_000_200_000)
        next.status.buckets = []
        try store.dht.saveDHTState(next)
        let loaded = try store.dht.loadDHTState(family: .ipv4)
        #expect(loaded?.id == Self.id(99))
        #expect(loaded?.nodes.map(\.address) == (100..<103).reversed().map { Self.node($0).address })
        #expect(loaded?.status == next.status)
        #expect(try store.dht.loadDHTState(family: .ipv6)?.nodes.count == 5)
        #expect(try store.dht.summaries().map(\.savedAt.rawValue) == [1_700_000_200_000, 1_700_000_100_000])
        // An empty table replaces the nodes too.
        try store.dht.saveDHTState(Self.state(.ipv4, nodes: []))
        #expect(try store.dht.loadDHTState(family: .ipv4)?.nodes == [])
    }

    @Test func aSaveKeepsTheNewestNodePerAddressAndOnlyAddressesOfItsFamily() throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        var older = Self.node(1)
        older.id = Self.id(77)
        older.lastSeen = Timestamp(rawValue: 1)
        let named = DHTSavedNode(
            id: Self.id(78), address: PeerAddress(parsing: "router.example:6881")!, lastSeen: Timestamp(rawValue: 5))
        let zeroPort = DHTSavedNode(
            id: Self.id(79), address: PeerAddress(host: .ipv4(1, 2, 3, 4), port: 0), lastSeen: Timestamp(rawValue: 5))
        try store.dht.saveDHTState(
            Self.state(.ipv4, nodes: [older, Self.node(1), Self.node(2, .ipv6), named, zeroPort]))
        #expect(try store.dht.loadDHTState(family: .ipv4)?.nodes == [Self.node(1)])
    }

    @Test func aLoadReadsTheNewest2000Nodes() throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        let nodes = (0..<2_600).map { Self.node($0) }.shuffled()
        try store.dht.saveDHTState(Self.state(.ipv4, nodes: nodes))
        let loaded = try #require(try store.dht.loadDHTState(family: .ipv4))
        #expect(loaded.nodes.count == DHTStates.loadLimit)
        #expect(loaded.nodes == (600..<2_600).reversed().map { Self.node($0) })
        #expect(try store.dht.summaries().first?.nodeCount == 2_600)
    }

    @Test func damagedNodeRowsAreLeftOut() throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        try store.dht.saveDHTState(Self.state(.ipv4, nodes: [Self.node(1), Self.node(2)]))
        try DamagedRowTests.damage(
            store,
            """
            INSERT INTO dht_nodes (family, address, port, node_id, last_seen_at) VALUES
                ('ipv4', '10.0.0.9', 6881, x'0102', 1700000009000),
                ('ipv4', 'not an address', 6881, zeroblob(20), 1700000009000),
                ('ipv4', '300.1.1.1', 6881, zeroblob(20), 1700000009000),
                ('ipv4', '::1', 6881, zeroblob(20), 1700000009000),
                ('ipv4', '10.0.0.10', 0, zeroblob(20), 1700000009000),
                ('ipv4', '10.0.0.11', 70000, zeroblob(20), 1700000009000),
                ('ipv4', '10.0.0.12', 'port', zeroblob(20), 1700000009000),
                ('ipv4', 7, 6881, zeroblob(20), 1700000009000),
                ('ipv4', '10.0.0.13', 6881, 'text id', 1700000009000),
                ('ipv4', '10.0.0.14', 6881, zeroblob(20), -5)
            """)
        let loaded = try store.dht.loadDHTState(family: .ipv4)
        #expect(loaded?.nodes == [Self.node(2), Self.node(1)])
    }

    @Test(arguments: [
        ("UPDATE dht_state SET node_id = x'0102'", "node_id"),
        ("UPDATE dht_state SET node_id = 'an id'", "node_id"),
        ("UPDATE dht_state SET status = '{\"nodeID\": 3'", "status"),
        ("UPDATE dht_state SET status = '[]'", "status"),
        ("UPDATE dht_state SET status = 42", "status"),
        ("UPDATE dht_state SET saved_at = 'yesterday'", "saved_at"),
    ])
    func aDamagedStateRowIsATypedError(_ sql: String, _ column: String) throws {
        let directory = try TemporaryDirectory()
        let store = try BtqStore(path: directory.file("btq.sqlite"))
        try store.dht.saveDHTState(Self.state(.ipv4, nodes: [Self.node(1)]))
        try DamagedRowTests.damage(store, sql + " WHERE family = 'ipv4'")
        let reads: [() throws -> Void] = [
            { _ = try store.dht.loadDHTState(family: .ipv4) }, { _ = try store.dht.summaries() },
        ]
        for read in reads {
            let error = #expect(throws: StoreError.self) { try read() }
            #expect(error?.code == .damagedDatabase)
            #expect(error?.description.contains("dht_state") == true, "\(String(describing: error))")
            #expect(error?.description.contains(column) == true, "\(String(describing: error))")
        }
    }

    /// Schema 5 adds the tables to a database of schema 4 and keeps what it held.
    @Test func schema5UpgradesADatabaseOfSchema4() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        do {
            let old = try BtqStore(path: path, migratingUpTo: "0004_file_state")
            // Written as that schema was: today's `add` reads back columns it lacks.
            try old.writer.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO torrents (id, info_hash_v1, name, magnet, save_dir, state, queue_position, added_at)
                        VALUES (1, '\(String(repeating: "cd", count: 20))', 'torrent-3', 'magnet:?xt=urn:btih:x',
                            '/tmp', 'queued', 0, 0)
                        """)
            }
            #expect(try old.writer.read { try $0.tableExists("dht_state") } == false)
        }
        let store = try BtqStore(path: path)
        #expect(try store.appliedMigrations().contains("0005_dht"))
        #expect(try store.queries.torrents().map(\.name) == ["torrent-3"])
        try store.dht.saveDHTState(Self.state(.ipv6, nodes: [Self.node(4, .ipv6)]))
        #expect(try store.dht.loadDHTState(family: .ipv6)?.nodes == [Self.node(4, .ipv6)])
    }
}
