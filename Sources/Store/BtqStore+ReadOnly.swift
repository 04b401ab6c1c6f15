import Foundation
import GRDB

extension BtqStore {
    /// Opens the database at `path` to read it only, for the commands that only read (`btq list`,
    /// `info`, `files`, `history`, `peers`, `dht`, `config get`): a database btq may not write (a file of mode
    /// 0444, a read-only mount, another user's queue) can still be listed and queried.
    ///
    /// Nothing is created, migrated or written. The database must exist and have every migration this
    /// build knows; one from a newer btq is refused as ``init(path:migratingUpTo:)`` refuses it.
    ///
    /// - Throws: ``StoreError`` `.newerDatabase`, or `.invalidValue` for a database that lacks
    ///   migrations (an older btq's: open it once writable to upgrade it); GRDB's `DatabaseError` when
    ///   the file cannot be opened or is not a database.
    package static func openForReading(path: String) throws -> BtqStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.invalidValue("no database at \(path)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "btq-read-only"
        func open(_ location: String) throws -> DatabaseQueue {
            let queue = try DatabaseQueue(path: location, configuration: configuration)
            _ = try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master") }
            return queue
        }
        let queue: DatabaseQueue
        do {
            queue = try open(path)
        } catch {
            // A WAL database whose shared-memory file cannot be written (a read-only mount) is read as an
            // immutable file then: nothing can write it there either.
            let escaped = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
            queue = try open("file:\(escaped)?immutable=1")
        }
        let store = BtqStore(path: path, writer: queue)
        let names = migrationNames
        let applied = try store.appliedMigrations()
        let unknown = applied.filter { !names.contains($0) }.sorted()
        if !unknown.isEmpty { throw StoreError.newerDatabase(path: path, unknownMigrations: unknown) }
        let missing = names.filter { !applied.contains($0) }
        guard missing.isEmpty else {
            throw StoreError.invalidValue(
                "the database \(path) is read-only and needs an upgrade (\(missing.joined(separator: ", "))); "
                    + "open it once with write access")
        }
        return store
    }
}
