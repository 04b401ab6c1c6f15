import ArgumentParser
import Engine
import Store

/// `btq resume`: queues paused or failed torrents again.
struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume paused or failed torrents.",
        discussion: """
            A resumed torrent goes back to the queue (its error, if any, is cleared) and a running \
            `btq run` starts it within a second when a slot is free. A completed torrent named on its \
            own (not with --all) seeds again, until seed_ratio_limit or seed_time_limit stops it.
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var selection: TorrentSelection

    func run() throws {
        let database = try store.openStore()
        for record in try selection.records(in: database) {
            switch record.state {
            case .paused, .error:
                try database.queue.setState(torrentId: record.id, .queued, error: nil)
                print("resumed #\(record.id) \(record.shownName)")
            case .completed where !selection.all:
                // Named on its own: seed it again (until the seed limits say otherwise).
                try database.queue.setState(torrentId: record.id, .queued, error: nil)
                print("resumed #\(record.id) \(record.shownName): it seeds again")
            case .queued, .checking, .fetchingMetadata, .downloading, .seeding, .completed:
                if !selection.all {
                    print("#\(record.id) \(record.shownName) is not paused (\(record.state.rawValue))")
                }
            }
        }
    }
}
