import Engine
import Foundation
import GRDB

/// What the DHT node of each address family saved (`dht_state` and `dht_nodes`): the engine's
/// ``DHTStateStore``, and what `btq dht` reads.
///
/// A save replaces the family's state and all of its nodes in one transaction. A load reads at most
/// ``loadLimit`` nodes, the most recently seen first. A damaged state row (an id that is not 20 bytes,
/// a status that is not the JSON btq writes) is ``StoreError`` `.damagedDatabase`; a damaged node row
/// (its id, address or port) is left out of what is loaded.
package struct DHTStates: DHTStateStore, Sendable {
    /// The most nodes a load reads for one family: more than a routing table holds (160 buckets of 8
    /// nodes and 8 replacements), so only a database written by hand reaches it.
    package static let loadLimit = 2_000

    let writer: any DatabaseWriter

    /// What the node of `family` saved last, with its newest ``loadLimit`` nodes (newest first); `nil`
    /// when it never saved.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` when the family's state row holds what btq never
    ///   writes.
    package func loadDHTState(family: DHTFamily) throws -> DHTSavedState? {
        try writer.read { db in
            guard let stored = try Self.stateRow(db, family: family) else { return nil }
            return DHTSavedState(
                family: family, id: stored.id, nodes: try Self.nodes(db, family: family), status: stored.status)
        }
    }

    /// Replaces what the node of `state.family` saved: its id, its status and its nodes. Nodes whose
    /// address is not a numeric address of the state's family are left out, and of several nodes at one
    /// address and port only the most recently seen is kept.
    package func saveDHTState(_ state: DHTSavedState) throws {
        let family = state.family.rawValue
        let status = try Self.encoder.encode(state.status)
        try writer.write { db in
            try db.execute(sql: "DELETE FROM dht_nodes WHERE family = ?", arguments: [family])
            try db.execute(
                sql: """
                    INSERT INTO dht_state (family, node_id, status, saved_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (family) DO UPDATE SET
                        node_id = excluded.node_id, status = excluded.status, saved_at = excluded.saved_at
                    """,
                arguments: [
                    family, Data(state.id.bytes), String(decoding: status, as: UTF8.self),
                    state.status.savedAt.rawValue,
                ])
            let insert = try db.makeStatement(
                sql: "INSERT INTO dht_nodes (family, address, port, node_id, last_seen_at) VALUES (?, ?, ?, ?, ?)")
            var written = Set<PeerAddress>()
            for node in state.nodes.sorted(by: { $0.lastSeen > $1.lastSeen }) {
                guard Self.belongs(node.address, to: state.family), written.insert(node.address).inserted else {
                    continue
                }
                try insert.execute(arguments: [
                    family, node.address.hostString, Int64(node.address.port), Data(node.id.bytes),
                    node.lastSeen.rawValue,
                ])
            }
        }
    }

    /// The saved state of each family that has one (IPv4 first), as `btq dht` shows it.
    ///
    /// - Throws: ``StoreError`` `.damagedDatabase` when a state row holds what btq never writes.
    package func summaries() throws -> [DHTStateSummary] {
        try writer.read { db in
            var summaries: [DHTStateSummary] = []
            for family in DHTFamily.allCases {
                guard let stored = try Self.stateRow(db, family: family) else { continue }
                let count =
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM dht_nodes WHERE family = ?", arguments: [family.rawValue]) ?? 0
                summaries.append(
                    DHTStateSummary(
                        family: family, id: stored.id, status: stored.status, savedAt: stored.savedAt, nodeCount: count)
                )
            }
            return summaries
        }
    }

    // MARK: - Rows

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// The family's state row, read and checked; `nil` when there is none.
    private static func stateRow(
        _ db: Database, family: DHTFamily
    ) throws -> (id: NodeID, status: DHTStatus, savedAt: Timestamp)? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT node_id, status, saved_at FROM dht_state WHERE family = ?",
                arguments: [family.rawValue])
        else { return nil }
        let stored = StoredRow(row: row, table: "dht_state")
        let blob = try stored.optionalBlob(0, "node_id")
        guard let blob, let id = NodeID(blob) else {
            throw stored.damaged(
                "node_id",
                "holds \(StoredRow.describe(row[0])) for \(family.rawValue); a node id of 20 bytes was expected")
        }
        let text = try stored.text(1, "status")
        let status: DHTStatus
        do {
            status = try JSONDecoder().decode(DHTStatus.self, from: Data(text.utf8))
        } catch {
            throw stored.damaged("status", "holds text for \(family.rawValue) that is not a DHT status btq writes")
        }
        let savedAt = try stored.integer(2, "saved_at", in: TorrentRecord.times)
        return (id, status, Timestamp(rawValue: savedAt))
    }

    /// The family's newest ``loadLimit`` node rows, newest first, without those that are damaged.
    private static func nodes(_ db: Database, family: DHTFamily) throws -> [DHTSavedNode] {
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT node_id, address, port, last_seen_at FROM dht_nodes WHERE family = ?
                ORDER BY last_seen_at DESC, address, port LIMIT ?
                """,
            arguments: [family.rawValue, loadLimit])
        var nodes: [DHTSavedNode] = []
        while let row = try rows.next() {
            if let node = node(row, family: family) { nodes.append(node) }
        }
        return nodes
    }

    /// The node a row holds; `nil` when any of its values is one btq never writes.
    private static func node(_ row: Row, family: DHTFamily) -> DHTSavedNode? {
        let stored = StoredRow(row: row, table: "dht_nodes")
        guard let blob = try? stored.optionalBlob(0, "node_id"), let id = NodeID(blob),
            let host = try? stored.text(1, "address"), let port = try? stored.int(2, "port", in: 1...65535),
            let lastSeen = try? stored.integer(3, "last_seen_at", in: TorrentRecord.times),
            let address = PeerAddress(parsing: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"),
            belongs(address, to: family)
        else { return nil }
        return DHTSavedNode(id: id, address: address, lastSeen: Timestamp(rawValue: lastSeen))
    }

    /// True when `address` is a numeric address of `family` with a port.
    private static func belongs(_ address: PeerAddress, to family: DHTFamily) -> Bool {
        switch (address.host, family) {
        case (.ipv4, .ipv4): address.port != 0
        case (.ipv6(let bytes), .ipv6): bytes.count == 16 && address.port != 0
        default: false
        }
    }
}

/// A family's saved DHT state as `btq dht` shows it: the node's status and how many nodes its table
/// saved (without reading them).
package struct DHTStateSummary: Sendable, Equatable {
    /// The address family of the node.
    package var family: DHTFamily
    /// The node's id.
    package var id: NodeID
    /// What the node was doing when it saved.
    package var status: DHTStatus
    /// When it saved.
    package var savedAt: Timestamp
    /// The nodes of its table that were saved.
    package var nodeCount: Int
}
