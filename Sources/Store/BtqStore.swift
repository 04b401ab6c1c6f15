import Engine
import Foundation
import GRDB
import GRDBSQLite

/// btq's SQLite database: the queue, resume progress, peer history and events.
///
/// `BtqStore` opens the database and migrates it; what is read and written there goes through its parts,
/// which share its connection: ``queue`` (the queue and its states), ``progress`` (what a torrent session
/// saves and reads back: the ``ResumeStore`` port), ``adder`` (adding torrents), ``queries`` (what the
/// command line reads), ``listing`` (`btq list`'s lines), ``limits`` (a torrent's rate limits and seeding
/// time), ``runs``, ``settings`` and ``dht`` (what the DHT nodes saved: the ``DHTStateStore`` port);
/// ``ports`` is the queue's parts as the engine's ``QueueStore`` and ``TorrentContentStore``.
///
/// Opening applies the embedded migrations (`Migrations/*.sql`) that the database lacks, in order, each in
/// its own transaction and recorded by name. A database written by a newer btq (one that recorded a
/// migration this build does not know) is refused with ``StoreError`` rather than used.
///
/// A file database is a GRDB `DatabasePool` in WAL mode: readers never block the writer, so `btq list`
/// reads while `btq run` writes. Writes wait up to ``busyTimeout`` for another process's write
/// to finish. Foreign keys are enforced. All methods, of the store and of its parts, are synchronous and
/// thread-safe; each write method is one transaction.
package final class BtqStore: Sendable {
    /// How long a write waits for another connection's write lock before failing.
    package static let busyTimeout: TimeInterval = 5

    /// The names of the migrations this build knows, in the order they apply (e.g. `0001_initial`).
    package static var migrationNames: [String] { embeddedMigrations.map(\.name) }

    /// The database file, or `nil` for an in-memory database.
    package let path: String?

    let writer: any DatabaseWriter

    /// The database as the queue manager and its workers take it: their ``QueueStore`` and
    /// ``TorrentContentStore``.
    package var ports: EnginePorts { EnginePorts(writer: writer) }
    /// The queue: places, states, rechecks, and what the queue daemon asks every pass.
    package var queue: TorrentQueue { TorrentQueue(writer: writer) }
    /// What a torrent session saves and reads back; its ``ResumeStore``.
    package var progress: ProgressStore { ProgressStore(writer: writer) }
    /// Adds torrents to the queue.
    package var adder: TorrentAdder { TorrentAdder(writer: writer) }
    /// What the command line reads of the torrents, and their file priorities.
    package var queries: TorrentQueries { TorrentQueries(writer: writer) }
    /// The queue's lines as `btq list` shows them.
    package var listing: QueueListing { QueueListing(writer: writer) }
    /// Each torrent's own rate limits and seeding time.
    package var limits: TorrentLimits { TorrentLimits(writer: writer) }
    /// The records of the processes that worked the queue.
    package var runs: RunLog { RunLog(writer: writer) }
    /// btq's settings.
    package var settings: StoreSettings { StoreSettings(writer: writer) }
    /// What the DHT node of each address family saved (its id, status and table); its ``DHTStateStore``.
    package var dht: DHTStates { DHTStates(writer: writer) }

    /// Opens (creating it and its parent folders if needed) the database at `path`, and applies the
    /// missing migrations up to `target` (a name from ``migrationNames``; `nil` means all of them).
    ///
    /// - Throws: ``StoreError`` when the database comes from a newer btq or `target` is unknown; GRDB's
    ///   `DatabaseError` when the file cannot be opened or is not a database.
    package init(path: String, migratingUpTo target: String? = nil) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        self.path = path
        // Several processes may open a new database at once: setting WAL mode does not wait for the lock.
        self.writer = try Self.busyRetry.run { try DatabasePool(path: path, configuration: Self.configuration()) }
        try migrate(upTo: target)
    }

    /// Wraps an open connection (see ``BtqStore/openForReading(path:)``).
    init(path: String?, writer: any DatabaseWriter) {
        self.path = path
        self.writer = writer
    }

    /// Opens a private in-memory database (for tests), migrated up to `target` (`nil`: all migrations).
    package init(inMemoryMigratingUpTo target: String? = nil) throws {
        self.path = nil
        self.writer = try DatabaseQueue(configuration: Self.configuration())
        try migrate(upTo: target)
    }

    /// An in-memory database with every migration applied (for tests).
    package static func inMemory() throws -> BtqStore {
        try BtqStore(inMemoryMigratingUpTo: nil)
    }

    /// Applies the missing migrations up to and including `target` (`nil`: all), each in its own
    /// transaction. Does nothing when the database is already at or past `target`.
    ///
    /// - Throws: ``StoreError`` when the database records a migration this build does not know (it was
    ///   written by a newer btq), or when `target` is not one of ``migrationNames``.
    package func migrate(upTo target: String? = nil) throws {
        let names = Self.migrationNames
        guard let targetName = target ?? names.last else { return }
        guard let targetIndex = names.firstIndex(of: targetName) else {
            throw StoreError.unknownMigration(targetName, known: names)
        }
        let migrator = Self.migrator()
        let retry = Self.busyRetry
        let needed = try retry.run {
            try writer.barrierWriteWithoutTransaction { db -> Bool in
                let applied = try Self.recordedMigrations(db)
                let unknown = applied.filter { !names.contains($0) }.sorted()
                if !unknown.isEmpty {
                    throw StoreError.newerDatabase(path: path, unknownMigrations: unknown)
                }
                // GRDB treats a target below what is applied as a programmer error; here it is a no-op.
                let last = applied.compactMap { names.firstIndex(of: $0) }.max() ?? -1
                return last < targetIndex
            }
        }
        guard needed else { return }
        // Two btq processes opening a new database at once (a `btq get` and a `btq list`) both find the
        // migrations missing; the one that applies a migration second fails on what the first created. A
        // failed attempt is therefore retried: the migrator then reads what is applied again (waiting for
        // the other process's transaction) and applies only the rest. Each such failure means another
        // opener applied a migration, so there are at most as many as migrations.
        var attempts = 0
        while true {
            do {
                try retry.run { try migrator.migrate(writer, upTo: targetName) }
                return
            } catch {
                attempts += 1
                let applied = try retry.run { try writer.read { try Self.recordedMigrations($0) } }
                if names[...targetIndex].allSatisfy(applied.contains) { return }
                if attempts > targetIndex + 1 { throw error }
            }
        }
    }

    /// The names of the migrations recorded in the database, in the order they apply (unknown ones last).
    package func appliedMigrations() throws -> [String] {
        let names = Self.migrationNames
        return try writer.read { db in
            try Self.recordedMigrations(db).sorted {
                (names.firstIndex(of: $0) ?? Int.max, $0) < (names.firstIndex(of: $1) ?? Int.max, $1)
            }
        }
    }

    // MARK: - Internals

    /// Retries opening steps that SQLite refuses at once when another connection holds a lock, within the
    /// busy timeout.
    static let busyRetry = BusyRetry(timeout: .milliseconds(Int64(busyTimeout * 1000)))

    private static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "btq"
        configuration.prepareDatabase { db in
            // Keep the WAL file when the last connection closes. SQLite otherwise deletes it, and the next
            // command's open (GRDB wants a non-empty WAL for a pool) recreated it with a dummy write
            // transaction and two fsyncs: every `btq list` wrote to the database and took its write lock.
            var persist: CInt = 1
            _ = sqlite3_file_control(db.sqliteConnection, nil, SQLITE_FCNTL_PERSIST_WAL, &persist)
        }
        return configuration
    }

    private static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in embeddedMigrations {
            let sql = migration.sql
            let name = migration.name
            migrator.registerMigration(name) { db in
                try db.execute(sql: sql)
                // What SQL cannot do: schema 12's file lists come from parsing each stored metainfo.
                if name == "0012_file_lists" { try FileListBlob.backfill(db) }
            }
        }
        return migrator
    }

    private static func recordedMigrations(_ db: Database) throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
    }
}
