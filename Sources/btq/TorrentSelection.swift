import ArgumentParser
import Engine
import Store

/// The torrents a command acts on: named ones, or `--all`. Shared by `pause` and `resume`.
struct TorrentSelection: ParsableArguments {
    @Argument(help: ArgumentHelp("List ids or info-hash prefixes.", valueName: "torrent"))
    var torrents: [String] = []

    @Flag(name: .long, help: "Every torrent in the queue.")
    var all = false

    func validate() throws {
        if all && !torrents.isEmpty { throw ValidationError("Name torrents or give --all, not both.") }
        if !all && torrents.isEmpty { throw ValidationError("Name at least one torrent, or give --all.") }
    }

    /// The torrents meant, each once, in the order named (`--all`: queue order). Every name is resolved
    /// before anything is changed, so one unknown name throws and changes nothing.
    func records(in database: BtqStore) throws -> [TorrentRecord] {
        if all { return try database.queries.torrents() }
        var records: [TorrentRecord] = []
        for name in torrents {
            let record = try database.queries.resolve(name)
            if !records.contains(where: { $0.id == record.id }) { records.append(record) }
        }
        return records
    }
}
