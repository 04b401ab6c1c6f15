import Foundation
import GRDB
import Testing

@testable import Store

@Suite struct MigrationTests {
    static let tables = [
        "block_masks", "events", "files", "metainfo", "peers", "piece_bitfields", "runs", "settings", "torrents",
        "trackers",
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
            let old = try BtqStore(path: path, migratingUpTo: BtqStore.migrationNames.first!)
            _ = try old.add(Fixtures.new(Fixtures.metainfo(seed: 1)))
        }
        let store = try BtqStore(path: path)
        #expect(try store.appliedMigrations() == BtqStore.migrationNames)
        #expect(try store.torrents().map(\.name) == ["torrent-1"])
    }

    @Test func databaseFromANewerBtqIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("btq.sqlite")
        do {
            let store = try BtqStore(path: path)
            _ = try store.add(Fixtures.new(Fixtures.metainfo(seed: 1)))
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
