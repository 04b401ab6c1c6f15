import ArgumentParser
import Engine
import Foundation
import Store

/// `btq dht`: what the DHT node of each address family saved at its last save.
struct Dht: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dht",
        abstract: "Show the state of the DHT node.",
        discussion: """
            For each address family whose DHT node has run on this database, as it was at its last save \
            (every few seconds while it runs, and when it stops): its node id, the address it is bound \
            to, whether it is read-only, when it saved, the nodes of its routing table, the non-empty \
            buckets, the lookups in progress, the torrents and peers other nodes announced to it, packets \
            and bytes each way with the average packets per second since it started, and the queries it \
            answered and dropped.
            """
    )

    @OptionGroup var store: StoreOptions

    @Flag(name: .long, help: "Print JSON (see docs/json.md).")
    var json = false

    func run() throws {
        let summaries = try store.openStoreForReading().dht.summaries()
        if json {
            try JSONOutput.print(summaries.map(DHTNodeJSON.init))
            return
        }
        guard !summaries.isEmpty else {
            print("No DHT node has run on this database yet.")
            return
        }
        let now = Date()
        print(summaries.map { Self.render($0, now: now) }.joined(separator: "\n"), terminator: "")
    }

    /// One family's state as text: its details, then its buckets and its lookups as tables.
    static func render(_ summary: DHTStateSummary, now: Date) -> String {
        let status = summary.status
        let seconds = Double(status.savedAt.rawValue - status.startedAt.rawValue) / 1000
        func perSecond(_ count: Int64) -> String {
            seconds > 0 ? Formatting.fixed(Double(count) / seconds, digits: 1) + "/s" : "-"
        }
        let savedAt = Date(summary.savedAt)
        let lines: [(String, String)] = [
            ("Family", summary.family == .ipv4 ? "IPv4 (BEP 5)" : "IPv6 (BEP 32)"),
            ("Node id", summary.id.description),
            ("Address", status.address),
            ("Read-only", status.readOnly ? "yes (BEP 43)" : "no"),
            ("Saved", "\(Formatting.date(savedAt)) (\(Formatting.age(of: savedAt, now: now)))"),
            ("Started", Formatting.date(Date(status.startedAt))),
            ("Nodes saved", "\(summary.nodeCount)"),
            ("Announced to it", "\(status.torrents) torrent(s), \(status.peers) peer(s)"),
            (
                "Packets",
                "in \(status.packetsIn) (\(perSecond(status.packetsIn))), "
                    + "out \(status.packetsOut) (\(perSecond(status.packetsOut)))"
            ),
            ("Bytes", "in \(Formatting.size(status.bytesIn)), out \(Formatting.size(status.bytesOut))"),
            ("Queries", "\(status.queriesAnswered) answered, \(status.queriesDropped) dropped"),
        ]
        let width = lines.map(\.0.count).max() ?? 0
        var text = ""
        for (key, value) in lines {
            text += (key + ":").padding(toLength: width + 1, withPad: " ", startingAt: 0) + " "
            text += TerminalText.clean(value) + "\n"
        }
        let buckets = status.buckets.filter { $0.good + $0.questionable + $0.replacements > 0 }
        if buckets.isEmpty {
            text += "Buckets: none with nodes\n"
        } else {
            var table = Table([
                .init("BUCKET", .right), .init("GOOD", .right), .init("QUESTIONABLE", .right),
                .init("REPLACEMENTS", .right),
            ])
            for bucket in buckets {
                table.append(["\(bucket.depth)", "\(bucket.good)", "\(bucket.questionable)", "\(bucket.replacements)"])
            }
            text += "\n" + table.render()
        }
        if status.lookups.isEmpty {
            text += "Lookups: none in progress\n"
        } else {
            var table = Table([
                .init("LOOKUP"), .init("TARGET", maxWidth: 40), .init("QUERIED", .right), .init("IN FLIGHT", .right),
            ])
            for lookup in status.lookups {
                table.append([lookup.kind, lookup.target, "\(lookup.queried)", "\(lookup.inFlight)"])
            }
            text += "\n" + table.render()
        }
        return text
    }
}

/// One family's DHT node in `btq dht --json`.
struct DHTNodeJSON: Encodable {
    let summary: DHTStateSummary

    enum Keys: String, CodingKey {
        case family, address, buckets, lookups, torrents, peers
        case nodeId = "node_id", readOnly = "read_only", startedAt = "started_at", savedAt = "saved_at"
        case savedNodes = "saved_nodes", packetsIn = "packets_in", packetsOut = "packets_out"
        case bytesIn = "bytes_in", bytesOut = "bytes_out", packetsInPerSecond = "packets_in_per_second"
        case packetsOutPerSecond = "packets_out_per_second", queriesAnswered = "queries_answered"
        case queriesDropped = "queries_dropped"
    }

    /// One bucket of the routing table.
    struct Bucket: Encodable {
        let depth: Int
        let good: Int
        let questionable: Int
        let replacements: Int

        init(_ bucket: DHTStatus.Bucket) {
            depth = bucket.depth
            good = bucket.good
            questionable = bucket.questionable
            replacements = bucket.replacements
        }
    }

    /// One lookup in progress.
    struct Lookup: Encodable {
        let kind: String
        let target: String
        let queried: Int
        let inFlight: Int

        enum CodingKeys: String, CodingKey {
            case kind, target, queried
            case inFlight = "in_flight"
        }

        init(_ lookup: DHTStatus.Lookup) {
            kind = lookup.kind
            target = lookup.target
            queried = lookup.queried
            inFlight = lookup.inFlight
        }
    }

    func encode(to encoder: any Encoder) throws {
        let status = summary.status
        let seconds = Double(status.savedAt.rawValue - status.startedAt.rawValue) / 1000
        func perSecond(_ count: Int64) -> Double? {
            seconds > 0 ? (Double(count) / seconds * 1000).rounded() / 1000 : nil
        }
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(summary.family.rawValue, forKey: .family)
        try c.encode(summary.id.description, forKey: .nodeId)
        try c.encode(status.address, forKey: .address)
        try c.encode(status.readOnly, forKey: .readOnly)
        try c.encode(Date(status.startedAt), forKey: .startedAt)
        try c.encode(Date(summary.savedAt), forKey: .savedAt)
        try c.encode(summary.nodeCount, forKey: .savedNodes)
        try c.encode(status.buckets.map(Bucket.init), forKey: .buckets)
        try c.encode(status.lookups.map(Lookup.init), forKey: .lookups)
        try c.encode(status.torrents, forKey: .torrents)
        try c.encode(status.peers, forKey: .peers)
        try c.encode(status.packetsIn, forKey: .packetsIn)
        try c.encode(status.packetsOut, forKey: .packetsOut)
        try c.encode(status.bytesIn, forKey: .bytesIn)
        try c.encode(status.bytesOut, forKey: .bytesOut)
        try c.encode(perSecond(status.packetsIn), forKey: .packetsInPerSecond)
        try c.encode(perSecond(status.packetsOut), forKey: .packetsOutPerSecond)
        try c.encode(status.queriesAnswered, forKey: .queriesAnswered)
        try c.encode(status.queriesDropped, forKey: .queriesDropped)
    }
}
