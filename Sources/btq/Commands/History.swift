import ArgumentParser
import Foundation
import Store

/// `btq history`: what happened to the torrents, oldest first.
struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show the history of one torrent or of all.",
        discussion: """
            Events are listed oldest first; with --limit, only the most recent ones. A removed torrent's \
            history is kept until `btq remove --purge`, and it can still be named here.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("List id or info-hash prefix (removed torrents too).", valueName: "torrent"))
    var torrent: String?

    @Option(name: .long, help: ArgumentHelp("Only events since then: \(DateArgument.forms).", valueName: "date"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only the most recent n events.", valueName: "n"))
    var limit: Int?

    @Flag(name: .long, help: "Print JSON (see docs/json.md).")
    var json = false

    func validate() throws {
        if let since, DateArgument.parse(since) == nil {
            throw ValidationError("Cannot read the date '\(since)'; use \(DateArgument.forms).")
        }
        if let limit, limit < 1 {
            throw ValidationError("--limit must be at least 1.")
        }
    }

    func run() throws {
        let database = try store.openStoreForReading()
        let record = try torrent.map { try database.queries.resolve($0, includeRemoved: true) }
        let events = try database.queries.events(
            torrentId: record?.id, since: since.flatMap { DateArgument.parse($0) }, limit: limit)
        var names: [Int64: String] = [:]
        if let record {
            names[record.id] = record.name
        } else {
            for torrent in try database.queries.torrents(includeRemoved: true) { names[torrent.id] = torrent.name }
        }
        if json {
            try JSONOutput.print(events.map { EventJSON($0, name: $0.torrentId.flatMap { names[$0] }) })
            return
        }
        var table = Table([
            .init("TIME"), .init("ID", .right), .init("NAME", maxWidth: 40), .init("EVENT"), .init("DETAIL"),
        ])
        for event in events {
            table.append([
                Formatting.date(event.at),
                event.torrentId.map { "\($0)" } ?? "-",
                event.torrentId.flatMap { names[$0] } ?? "-",
                event.kind,
                event.detail ?? "",
            ])
        }
        print(table.render(), terminator: "")
    }
}

/// One event in `btq history --json`.
struct EventJSON: Encodable {
    let record: EventRecord
    let name: String?

    init(_ record: EventRecord, name: String?) {
        self.record = record
        self.name = name
    }

    enum Keys: String, CodingKey {
        case id, at, kind, detail, name
        case torrentId = "torrent_id"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(record.id, forKey: .id)
        try c.encode(record.torrentId, forKey: .torrentId)
        try c.encode(record.at, forKey: .at)
        try c.encode(record.kind, forKey: .kind)
        try c.encode(record.detail, forKey: .detail)
        try c.encode(name, forKey: .name)
    }
}
