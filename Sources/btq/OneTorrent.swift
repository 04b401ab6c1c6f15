import ArgumentParser
import Engine
import Store

/// The database options and the one torrent a command is about, named by list id or hash prefix.
struct OneTorrent: ParsableArguments {
    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("List id or info-hash prefix (removed torrents too).", valueName: "torrent"))
    var torrent: String

    /// Opens the queue and finds the torrent, removed ones included.
    func resolve() throws -> (BtqStore, TorrentRecord) {
        let database = try store.openStore()
        return (database, try database.queries.resolve(torrent, includeRemoved: true))
    }

    /// ``resolve()`` for a command that only reads: a read-only database is fine (see
    /// ``StoreOptions/openStoreForReading()``).
    func resolveForReading() throws -> (BtqStore, TorrentRecord) {
        let database = try store.openStoreForReading()
        return (database, try database.queries.resolve(torrent, includeRemoved: true))
    }
}
