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
        let database = try store.openStoreForReading()
        if json {
            let torrents = try database.queries.torrents(includeRemoved: all, state: filter)
            try StandardOutput.write(Self.json(torrents, swarms: try database.queries.swarmCounts()))
            return
        }
        // Without removed torrents (the usual listing), the queue is read and formatted in two halves at
        // once, each line straight from SQLite's row into its half's buffer: 100,000 torrents list in well
        // under 100 ms of work.
        let parts =
            all
            ? [ListPart(try database.listing.queueLines(includeRemoved: true, state: filter))]
            : try database.listing.queueLineParts(
                state: filter, parts: 2, makePart: ListPart.init(reservingFor:), visit: { $0.append($1) })
        for bytes in Self.render(parts) { try StandardOutput.write(bytes) }
    }

    /// The queue as JSON (docs/json.md): what ``JSONOutput`` prints for these torrents, written directly,
    /// each with the swarm counts of `swarms` under its id.
    static func json(_ torrents: [TorrentRecord], swarms: [Int64: SwarmCounts] = [:]) -> [UInt8] {
        JSONText.array(
            of: torrents.map { TorrentJSON($0, swarm: swarms[$0.id]).fields.map { ($0.key.rawValue, $0.value) } })
    }

    /// The queue table of `lines`, as one buffer.
    static func render(_ lines: [QueueLine]) -> [UInt8] {
        Array(render([ListPart(lines)]).joined())
    }

    /// The queue as a table (the layout of ``Table``: ID right, NAME up to 60 characters, SIZE and DONE
    /// right, STATE, RATIO right), one buffer per part (the parts are consecutive runs of the queue, laid
    /// out at the same time). The header is at the start of the first buffer.
    static func render(_ parts: [ListPart]) -> [[UInt8]] {
        let widths = parts.reduce(ListPart.headers.map(\.utf8.count)) { zip($0, $1.widths).map(max) }
        return concurrentMap(Array(parts.indices)) { index in parts[index].bytes(widths: widths, header: index == 0) }
    }
}
