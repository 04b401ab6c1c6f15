import ArgumentParser
import Engine
import Store

/// `btq order`: shows or sets the order a torrent's pieces are downloaded in.
struct Order: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order",
        abstract: "Show or set the order a torrent's pieces are downloaded in.",
        discussion: """
            rarest (the default): rarest pieces first, best for the swarm. sequential: in order, from the \
            first piece (to watch or play while it downloads). first-last: the first and last piece of \
            each wanted file first (to preview), then rarest first. Files of a higher priority \
            (`btq files --high`) come first whatever the order, and pieces already started are finished \
            first. A running `btq run` follows the change within a second.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("List id or info-hash prefix.", valueName: "torrent"))
    var torrent: String

    @Argument(help: ArgumentHelp("rarest, sequential or first-last (none: show it).", valueName: "order"))
    var order: DownloadOrder?

    func run() throws {
        let database = try store.openStore()
        var record = try database.queries.resolve(torrent)
        if let order {
            try database.queries.setDownloadOrder(torrentId: record.id, order)
            record.downloadOrder = order
        }
        print("#\(record.id) \(record.shownName): \(record.downloadOrder.rawValue)")
    }
}

extension DownloadOrder: ExpressibleByArgument {}

/// `--sequential` and `--first-last`, for the commands that add or start torrents.
struct OrderOptions: ParsableArguments {
    @Flag(name: .long, help: "Download the pieces in order, from the first (to play while it downloads).")
    var sequential = false

    @Flag(name: .long, help: "Download the first and last piece of each file first (to preview).")
    var firstLast = false

    func validate() throws {
        if sequential && firstLast { throw ValidationError("--sequential and --first-last do not go together.") }
    }

    /// The order asked for, if any.
    var order: DownloadOrder? { sequential ? .sequential : firstLast ? .firstLast : nil }
}
