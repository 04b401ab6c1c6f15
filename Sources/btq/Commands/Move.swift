import ArgumentParser
import Engine
import Store

/// `btq move`: changes a torrent's place in the queue.
struct Move: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move", abstract: "Move a torrent up or down the queue.")

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("List id or info-hash prefix.", valueName: "torrent"))
    var torrent: String

    @Argument(help: ArgumentHelp("up, down, top or bottom.", valueName: "where"))
    var direction: String

    func validate() throws {
        guard QueueMove(word: direction) != nil else {
            throw ValidationError("Move where? '\(direction)' is not one of up, down, top, bottom.")
        }
    }

    func run() throws {
        let database = try store.openStore()
        let record = try database.queries.resolve(torrent)
        try database.queue.move(torrentId: record.id, QueueMove(word: direction)!)
        let moved = try database.queries.torrent(id: record.id)
        print("#\(record.id) \(record.shownName) is now at position \((moved?.queuePosition ?? 0) + 1)")
    }
}

extension QueueMove {
    init?(word: String) {
        switch word.lowercased() {
        case "up": self = .up
        case "down": self = .down
        case "top": self = .top
        case "bottom": self = .bottom
        default: return nil
        }
    }
}
