import Engine
import Foundation
import Store
import Testing

@testable import btq

/// `btq dht` and the DHT settings through the real executable.
@Suite(.timeLimit(.minutes(5))) struct DHTCommandTests {
    static let nodeID = NodeID(Array(repeating: 0xab, count: 19) + [0x01])!

    /// What an IPv4 node saved 12 s ago, after 100 s of running, with text a damaged or hostile status
    /// could hold in its lookups.
    static func savedState(now: Timestamp = .now) -> DHTSavedState {
        let savedAt = Timestamp(rawValue: now.rawValue - 12_000)
        let status = DHTStatus(
            nodeID: nodeID.description, address: "0.0.0.0:6881", readOnly: false,
            buckets: [
                .init(depth: 0, good: 8, questionable: 1, replacements: 4),
                .init(depth: 1, good: 0, questionable: 0, replacements: 0),
                .init(depth: 2, good: 3, questionable: 0, replacements: 0),
            ],
            lookups: [
                .init(kind: "get_peers", target: String(repeating: "cd", count: 20), queried: 17, inFlight: 3),
                .init(kind: UntrustedTextTests.hostile, target: "find", queried: 1, inFlight: 0),
            ],
            torrents: 5, peers: 42, packetsIn: 250, packetsOut: 300, bytesIn: 25_000, bytesOut: 3 << 20,
            queriesAnswered: 190, queriesDropped: 6, startedAt: Timestamp(rawValue: savedAt.rawValue - 100_000),
            savedAt: savedAt)
        let nodes = (1...3).map {
            DHTSavedNode(
                id: NodeID(Array(repeating: UInt8($0), count: 20))!,
                address: PeerAddress(host: .ipv4(10, 0, 0, UInt8($0)), port: 6881), lastSeen: savedAt)
        }
        return DHTSavedState(family: .ipv4, id: nodeID, nodes: nodes, status: status)
    }

    @Test func anEmptyDatabaseHasNoNodeYet() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let text = try btq.run(["dht"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout == "No DHT node has run on this database yet.\n")
        let json = try btq.run(["dht", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout == "[\n\n]\n" || json.stdout == "[]\n", "\(json.stdout)")
    }

    @Test func showsWhatTheNodeSaved() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        try BtqStore(path: btq.database).dht.saveDHTState(Self.savedState())
        let result = try btq.run(["dht"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        func line(_ key: String) -> String? {
            lines.first { $0.hasPrefix(key + ":") }.map {
                $0.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
            }
        }
        #expect(line("Family") == "IPv4 (BEP 5)")
        #expect(line("Node id") == Self.nodeID.description)
        #expect(line("Address") == "0.0.0.0:6881")
        #expect(line("Read-only") == "no")
        #expect(line("Saved")?.hasSuffix(" s ago)") == true, "\(result.stdout)")
        #expect(line("Nodes saved") == "3")
        #expect(line("Announced to it") == "5 torrent(s), 42 peer(s)")
        #expect(line("Packets") == "in 250 (2.5/s), out 300 (3.0/s)")
        #expect(line("Bytes") == "in 24.4 KiB, out 3.00 MiB")
        #expect(line("Queries") == "190 answered, 6 dropped")
        // Only the buckets that hold nodes.
        let buckets = lines.drop { !$0.hasPrefix("BUCKET") }.prefix { !$0.isEmpty }
        #expect(
            buckets.map { $0.split(separator: " ") } == [
                ["BUCKET", "GOOD", "QUESTIONABLE", "REPLACEMENTS"], ["0", "8", "1", "4"], ["2", "3", "0", "0"],
            ])
        let lookups = lines.drop { !$0.hasPrefix("LOOKUP") }.prefix { !$0.isEmpty }
        #expect(lookups.count == 3)
        #expect(
            lookups.dropFirst().first?.split(separator: " ") == [
                "get_peers", Substring(String(repeating: "cd", count: 20)), "17", "3",
            ])
        #expect(lookups.last?.contains(UntrustedTextTests.cleaned) == true, "\(result.stdout)")
        #expect(!result.stdout.unicodeScalars.contains { TerminalText.isRemoved($0) && $0 != "\n" })
    }

    @Test func jsonIsTheDocumentedDocument() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let state = Self.savedState()
        try BtqStore(path: btq.database).dht.saveDHTState(state)
        let result = try btq.run(["dht", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        let node = try #require(parsed?.first)
        #expect(parsed?.count == 1)
        #expect(
            Set(node.keys) == [
                "family", "node_id", "address", "read_only", "started_at", "saved_at", "saved_nodes", "buckets",
                "lookups", "torrents", "peers", "packets_in", "packets_out", "bytes_in", "bytes_out",
                "packets_in_per_second", "packets_out_per_second", "queries_answered", "queries_dropped",
            ])
        #expect(node["family"] as? String == "ipv4")
        #expect(node["node_id"] as? String == Self.nodeID.description)
        #expect(node["read_only"] as? Bool == false)
        #expect(node["saved_nodes"] as? Int == 3)
        #expect(node["packets_in_per_second"] as? Double == 2.5)
        #expect(node["bytes_out"] as? Int == 3 << 20)
        #expect(node["queries_dropped"] as? Int == 6)
        #expect((node["saved_at"] as? String)?.hasSuffix("Z") == true)
        let buckets = node["buckets"] as? [[String: Int]]
        #expect(buckets?.count == 3)
        #expect(buckets?.first == ["depth": 0, "good": 8, "questionable": 1, "replacements": 4])
        let lookups = node["lookups"] as? [[String: Any]]
        #expect(lookups?.first?["in_flight"] as? Int == 3)
        #expect(lookups?.last?["kind"] as? String == UntrustedTextTests.hostile)
        // Controls are escaped; JSON keeps the rest of the text as it is (bidirectional overrides too).
        #expect(
            !result.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F...0x9F).contains($0.value) }
        )
    }

    @Test func dhtSettingsTakeOnOffAndHostPortLists() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        #expect(try btq.run(["config", "get", "dht"]).stdout == "on\n")
        #expect(try btq.run(["config", "get", "dht_read_only"]).stdout == "off\n")
        #expect(
            try btq.run(["config", "get", "dht_bootstrap_nodes"]).stdout
                == TransferSettings.defaultDHTBootstrapNodes.joined(separator: ",") + "\n")
        // The listing shortens the long default; `config get KEY` above printed it whole.
        let listing = try btq.run(["config", "get"]).stdout.split(separator: "\n")
        #expect(listing.contains { $0.hasPrefix("dht_bootstrap_nodes") && $0.contains("router.bittorrent.com:6881…") })
        #expect(listing.allSatisfy { $0.count <= 80 }, "\(listing)")
        #expect(try btq.run(["config", "set", "dht", "no"]).stdout == "dht = off\n")
        #expect(try btq.run(["config", "set", "dht_read_only", "TRUE"]).stdout == "dht_read_only = on\n")
        let set = try btq.run(["config", "set", "dht_bootstrap_nodes", "dht.example:6881, [::1]:7000 10.0.0.1:1"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(
            try btq.run(["config", "get", "dht_bootstrap_nodes"]).stdout == "dht.example:6881,[::1]:7000,10.0.0.1:1\n")
        let settings = TransferSettings(values: try BtqStore(path: btq.database).settings.all())
        #expect(settings.dhtEnabled == false)
        #expect(settings.dhtReadOnly == true)
        #expect(settings.dhtBootstrapNodes == ["dht.example:6881", "[::1]:7000", "10.0.0.1:1"])
        #expect(try btq.run(["config", "set", "dht_bootstrap_nodes", ""]).status == 0)
        #expect(try btq.run(["config", "get", "dht_bootstrap_nodes"]).stdout == "\n")
        #expect(TransferSettings(values: try BtqStore(path: btq.database).settings.all()).dhtBootstrapNodes == [])
    }

    @Test(arguments: [
        ["dht", "maybe"], ["dht", ""], ["dht_read_only", "2"], ["dht_bootstrap_nodes", "dht.example"],
        ["dht_bootstrap_nodes", "dht.example:6881,10.0.0.1:0"], ["dht_bootstrap_nodes", "[::1:6881"],
    ])
    func badDHTValuesAreRefusedAndChangeNothing(_ arguments: [String]) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        #expect(try btq.run(["config", "set", "dht_read_only", "on"]).status == 0)
        let before = try BtqStore(path: btq.database).settings.all()
        let result = try btq.run(["config", "set"] + arguments)
        #expect(result.status == 64)
        #expect(result.stderr.contains(arguments[0]), "\(result.stderr)")
        #expect(
            result.stderr.contains(arguments[0] == "dht_bootstrap_nodes" ? "host:port" : "on or off"),
            "\(result.stderr)")
        #expect(try BtqStore(path: btq.database).settings.all() == before)
    }
}
