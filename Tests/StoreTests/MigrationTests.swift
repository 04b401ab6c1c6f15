import Foundation
import GRDB
import Testing

@testable import Store

@Suite(.timeLimit(.minutes(5))) struct MigrationTests {
    static let tables = [
        "block_masks", "deleted_torrents", "dht_nodes", "dht_state", "events", "file_lists", "file_state", "metainfo",
        "peers",
        "piece_bitfields", "queue_generation", "runs",
        "settings", "torrents", "trackers",
    ]

    @Test(arguments: BtqStore.migrationNames)
    func everyMigrationAppliesFromAnEmptyDatabase(upTo name: String) throws {
        let store = try BtqStore(inMemoryMigratingUpTo: name)
        let names = BtqStore.migrationNames
        #expect(try store.appliedMigrations() == Array(names[...names.firstIndex(of: name)!]))
        // Then the rest, as an upgrade in place.
        try store.migrate()
        #expect(try store.appliedMigrations() == names)
        let (integrity, violations) = try store.writer.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
            )
        }
        #expect(integrity == "ok")
        #expect(violations.isEmpty)
    }

    /// Schema 4 keeps what schema 1 stored per file beyond the metainfo (a priority, a recorded size and
    /// time) in `file_state`, counts each torrent's entries, and drops the copied file list.
    @Test func fileStatesMoveOutOfTheFileList() throws {
        let store = try BtqStore(inMemoryMigratingUpTo: "0003_list_index")
        try store.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO torrents (id, info_hash_v1, name, magnet, save_dir, state, queue_position, added_at)
                    VALUES (1, '\(String(repeating: "ab", count: 20))', 'a', 'magnet:?xt=urn:btih:x', '/tmp', 'queued',
                        0, 0);
                    INSERT INTO files (torrent_id, file_index, path, length, byte_offset)
                    VALUES (1, 0, 'a/x', 1, 0), (1, 1, 'a/y', 1, 1), (1, 2, 'a/z', 1, 2), (1, 3, 'a/w', 1, 3);
                    UPDATE files SET priority = 0 WHERE file_index = 1;
                    UPDATE files SET recorded_size = 1, recorded_mtime_ns = 5, recorded_at = 7 WHERE file_index = 2;
                    """)
        }
        try store.migrate()
        let (rows, entries) = try store.writer.read { db in
            (
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT file_index, priority, recorded_size, recorded_mtime_ns, recorded_at FROM file_state
                        ORDER BY file_index
                        """
                ).map { row in (0..<5).map { row[$0] as Int? } },
                try Int.fetchOne(db, sql: "SELECT file_entries FROM torrents WHERE id = 1")
            )
        }
        #expect(rows == [[1, 0, nil, nil, nil], [2, 4, 1, 5, 7]])
        #expect(entries == 4)
    }

    @Test func latestSchemaHasEveryTable() throws {
        let store = try BtqStore.inMemory()
        let tables = try store.writer.read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb_%' ORDER BY name")
        }
        #expect(tables == Self.tables)
    }

    @Test func embeddedMigrationsMatchTheMigrationsFolder() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files.map { String($0.dropLast(4)) } == BtqStore.migrationNames)
        for (file, migration) in zip(files, embeddedMigrations) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(
                text.trimmingCharacters(in: .whitespacesAndNewlines)
                    == migration.sql.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // Names are numbered and ordered.
        for name in BtqStore.migrationNames {
            #expect(name.prefix(4).allSatisfy(\.isNumber) && name.dropFirst(4).first == "_")
        }
    }

    @Test func unknownTargetIsATypedError() throws {
        let store = try BtqStore.inMemory()
        let error = #expect(throws: StoreError.self) { try store.migrate(upTo: "9999_nope") }
        #expect(error?.code == .unknownMigration)
    }

    @Test func migratingToAnEarlierTargetIsANoOp() throws {
        let store = try BtqStore.inMemory()
        try store.migrate(upTo: BtqStore.migrationNames.first!)
        #expect(try store.appliedMigrations() == BtqStore.migrationNames)
    }

    @Test func upgradeInPlaceKeepsData() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        do {
            // Written as schema 1 was: today's `add` writes columns that schema lacks.
            let old = try BtqStore(path: path, migratingUpTo: BtqStore.migrationNames.first!)
            try old.writer.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO torrents (id, info_hash_v1, name, magnet, save_dir, state, queue_position, added_at)
                        VALUES (1, '\(String(repeating: "cd", count: 20))', 'torrent-1', 'magnet:?xt=urn:btih:x',
                            '/tmp', 'queued', 0, 0)
                        """)
            }
        }
        let store = try BtqStore(path: path)
        #expect(try store.appliedMigrations() == BtqStore.migrationNames)
        #expect(try store.queries.torrents().map(\.name) == ["torrent-1"])
    }

    @Test func databaseFromANewerBtqIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        do {
            let store = try BtqStore(path: path)
            _ = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 1)))
            try store.writer.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
            }
        }
        let error = #expect(throws: StoreError.self) { try BtqStore(path: path) }
        #expect(error?.code == .newerDatabase)
        #expect(error?.description.contains("9999_from_the_future") == true)
        #expect(error?.description.contains("newer btq") == true)
        // Nothing was touched: the data is still there for the newer btq.
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM torrents") } == 1)
    }
}
