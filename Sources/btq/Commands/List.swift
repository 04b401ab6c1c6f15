import ArgumentParser
import Engine
import Foundation
import Store

/// `btq list`: the queue, in queue order.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show the queue.",
        aliases: ["ls"]
    )

    @OptionGroup var store: StoreOptions

    @Flag(name: .long, help: "Include removed torrents (kept for their history until purged).")
    var all = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Only torrents in this state: \(TorrentState.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "state"))
    var state: String?

    @Flag(name: .long, help: "Print JSON (see docs/json.md).")
    var json = false

    func validate() throws {
        if let state, TorrentState(rawValue: state) == nil {
            throw ValidationError(
                "Unknown state '\(state)'; one of \(TorrentState.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
    }

    func run() throws {
        let filter = state.flatMap(TorrentState.init(rawValue:))
        let torrents = try store.openStore().torrents(includeRemoved: all, state: filter)
        if json {
            try JSONOutput.print(torrents.map(TorrentJSON.init))
            return
        }
        var table = Table([
            .init("ID", .right), .init("NAME", maxWidth: 60), .init("SIZE", .right), .init("DONE", .right),
            .init("STATE"), .init("RATIO", .right),
        ])
        for torrent in torrents {
            table.append([
                "\(torrent.id)",
                torrent.name,
                torrent.totalSize.map(Formatting.size) ?? "?",
                Formatting.percent(torrent.progress),
                torrent.removedAt == nil ? torrent.state.rawValue : "removed",
                Formatting.ratio(torrent),
            ])
        }
        print(table.render(), terminator: "")
    }
}
