import ArgumentParser
import Engine
import Store

/// `btq pause`: stops torrents until `btq resume`.
struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause torrents.",
        discussion: """
            A paused torrent keeps its place in the queue and its progress; a running `btq run` stops it \
            within a second. Completed torrents have nothing to pause.
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var selection: TorrentSelection

    func run() throws {
        let database = try store.openStore()
        for record in try selection.records(in: database) {
            switch record.state {
            case .paused:
                if !selection.all { print("#\(record.id) \(record.shownName) is already paused") }
            case .completed:
                if !selection.all { print("#\(record.id) \(record.shownName) is completed: nothing to pause") }
            case .queued, .checking, .fetchingMetadata, .downloading, .seeding, .error:
                // Pausing keeps a failed torrent's reason until it is resumed.
                try database.queue.setState(torrentId: record.id, .paused, error: record.lastError)
                print("paused #\(record.id) \(record.shownName)")
            }
        }
    }
}
