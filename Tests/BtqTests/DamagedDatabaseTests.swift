import Foundation
import Testing

/// A database damaged behind btq's back (edited with raw SQL: NULLs, values out of range or of the wrong
/// type, bitfields of the wrong length) makes a command fail with exit status 1 and one `btq: ...` line
/// naming the torrent, table and column: never a crash.
@Suite(.timeLimit(.minutes(5))) struct DamagedDatabaseTests {
    /// One way to damage the database, the command that then reads it, and what its message must say.
    struct Damage: CustomTestStringConvertible, Sendable {
        let name: String
        let sql: String
        let command: [String]
        let expected: [String]
        var testDescription: String { name }
    }

    /// Rebuilds `table` without its constraints (`CREATE TABLE AS` keeps only the columns), so that NOT
    /// NULL columns can be set to NULL.
    static func unconstrained(_ table: String) -> String {
        """
        PRAGMA foreign_keys = OFF;
        CREATE TABLE damaged AS SELECT * FROM \(table);
        DROP TABLE \(table);
        ALTER TABLE damaged RENAME TO \(table);
        """
    }

    static let unchecked = "PRAGMA ignore_check_constraints = ON;"

    static let damages: [Damage] = [
        Damage(
            name: "NULL name", sql: unconstrained("torrents") + "UPDATE torrents SET name = NULL;",
            command: ["list"], expected: ["torrent 1", "name", "torrents", "NULL"]),
        Damage(
            name: "NULL name (info)", sql: unconstrained("torrents") + "UPDATE torrents SET name = NULL;",
            command: ["info", "1"], expected: ["torrent 1", "name", "NULL"]),
        Damage(
            name: "NULL state", sql: unconstrained("torrents") + "UPDATE torrents SET state = NULL;",
            command: ["list", "--json"], expected: ["torrent 1", "state", "NULL"]),
        Damage(
            name: "negative piece count", sql: unchecked + "UPDATE torrents SET piece_count = -5;",
            command: ["info", "1"], expected: ["torrent 1", "piece_count", "-5"]),
        Damage(
            name: "piece count that does not fit the size",
            sql: unchecked + "UPDATE torrents SET piece_count = 1, pieces_done = 0;",
            command: ["files", "1"], expected: ["torrent 1", "piece_count"]),
        Damage(
            name: "text size", sql: "UPDATE torrents SET total_size = 'lots';", command: ["list"],
            expected: ["torrent 1", "total_size", "text"]),
        Damage(
            name: "negative bytes done", sql: unchecked + "UPDATE torrents SET bytes_done = -1;", command: ["list"],
            expected: ["torrent 1", "bytes_done", "-1"]),
        Damage(
            name: "huge upload counter", sql: "UPDATE torrents SET uploaded = 9223372036854775807, downloaded = 1;",
            command: ["info", "1"], expected: []),
        Damage(
            // A .torrent may hold any creation date; btq info shows it as `-` when it is past year 9999.
            name: "creation date Int64.max", sql: "UPDATE torrents SET creation_date = 9223372036854775807;",
            command: ["info", "1"], expected: []),
        Damage(
            name: "file priority 99",
            sql: unchecked + "INSERT INTO file_state (torrent_id, file_index, priority) VALUES (1, 0, 99);",
            command: ["files", "1"], expected: ["torrent 1", "priority", "99", "file_state"]),
        Damage(
            // Without its stored file list, `btq files` parses the metainfo.
            name: "metainfo cut short",
            sql: "DELETE FROM file_lists; UPDATE metainfo SET bytes = substr(bytes, 1, 40);",
            command: ["files", "1"], expected: ["torrent 1", "metainfo", "no longer parses"]),
        Damage(
            name: "file list cut short",
            sql: "UPDATE file_lists SET entries = substr(entries, 1, 7);",
            command: ["files", "1"], expected: ["torrent 1", "file_lists"]),
        Damage(
            name: "truncated bitfield",
            sql: unchecked
                + "INSERT INTO piece_bitfields (torrent_id, piece_count, verified, updated_at) "
                + "SELECT id, piece_count, x'', 0 FROM torrents;",
            command: ["files", "1"], expected: ["torrent 1", "verified", "piece_bitfields"]),
        Damage(
            name: "bitfield of another piece count",
            sql: unchecked
                + "INSERT INTO piece_bitfields (torrent_id, piece_count, verified, updated_at) "
                + "SELECT id, piece_count + 100, zeroblob((piece_count + 107) / 8), 0 FROM torrents;",
            command: ["files", "1"], expected: ["torrent 1", "piece_count", "piece_bitfields"]),
        Damage(
            name: "negative tracker tier", sql: unchecked + "UPDATE trackers SET tier = -1;", command: ["info", "1"],
            expected: ["torrent 1", "tier", "trackers"]),
        Damage(
            name: "NULL tracker URL", sql: unconstrained("trackers") + "UPDATE trackers SET url = NULL;",
            command: ["info", "1", "--json"], expected: ["torrent 1", "url", "trackers"]),
        Damage(
            name: "peer port 70000",
            sql: unchecked
                + "INSERT INTO peers (torrent_id, address, port, source, first_seen_at, last_seen_at) "
                + "VALUES (1, '127.0.0.1', 70000, 'tracker', 0, 0);",
            command: ["peers", "1"], expected: ["torrent 1", "port", "peers", "70000"]),
        Damage(
            name: "blob peer address",
            sql: "INSERT INTO peers (torrent_id, address, port, source, first_seen_at, last_seen_at) "
                + "VALUES (1, x'0102', 6881, 'tracker', 0, 0);",
            command: ["peers", "1", "--json"], expected: ["torrent 1", "address", "BLOB"]),
        Damage(
            name: "NULL event time", sql: unconstrained("events") + "UPDATE events SET at = NULL;",
            command: ["history"], expected: ["torrent 1", "at", "events", "NULL"]),
        Damage(
            name: "NULL setting",
            sql: unconstrained("settings") + "INSERT INTO settings (key, value, updated_at) VALUES ('x', NULL, 0);",
            command: ["config", "get"], expected: ["value", "settings", "NULL"]),
        Damage(
            name: "short DHT node id",
            sql: unchecked
                + "INSERT INTO dht_state (family, node_id, status, saved_at) VALUES ('ipv4', x'0102', '{}', 0);",
            command: ["dht"], expected: ["node_id", "dht_state", "2 bytes", "ipv4"]),
        Damage(
            name: "DHT status not JSON",
            sql: "INSERT INTO dht_state (family, node_id, status, saved_at) VALUES ('ipv6', zeroblob(20), '{', 0);",
            command: ["dht", "--json"], expected: ["status", "dht_state", "ipv6"]),
    ]

    @Test(arguments: damages)
    func damageIsAnErrorNotACrash(_ damage: Damage) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let torrent = try QueueCommandTests.makeTorrent(btq)
        #expect(try btq.run(["add", torrent]).status == 0)
        try Self.sqlite(btq.database, damage.sql)
        let result = try btq.run(damage.command)
        if damage.expected.isEmpty {
            // Damage btq can show: it must not crash on it.
            #expect(result.status == 0, "\(result.stderr)")
            return
        }
        #expect(result.status == 1, "exit status \(result.status): \(result.stderr)")
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        let line = String(result.stderrLines.first ?? "")
        #expect(line.hasPrefix("btq: the database is damaged: "), "\(line)")
        for word in damage.expected { #expect(line.contains(word), "'\(word)' missing from: \(line)") }
    }

    /// Runs `sql` with the `sqlite3` shell on the database at `path`.
    static func sqlite(_ path: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path]
        let input = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data((".bail on\n" + sql + "\n").utf8))
        try input.fileHandleForWriting.close()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "sqlite3 failed: \(message)")
    }
}
