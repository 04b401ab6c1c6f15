import ArgumentParser
import Engine
import Foundation
import Store

/// `btq add`: puts torrents and magnet links into the queue.
struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add .torrent files or magnet links to the queue.",
        discussion: """
            Every argument is read and checked before anything is written: if one is bad, nothing \
            is added. A torrent already in the queue is reported on stderr and left as it is; \
            that is not an error (exit status 0).
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("A .torrent file or a magnet URI.", valueName: "torrent|magnet"))
    var sources: [String]

    @Option(name: .long, help: ArgumentHelp("Where to save the data (default: the current folder).", valueName: "path"))
    var dir: String?

    @Flag(name: .long, help: "Add paused: the daemon will not start it until `btq resume`.")
    var paused = false

    @Flag(name: .long, help: "Put it at the top of the queue instead of the bottom.")
    var top = false

    @OptionGroup var orderOptions: OrderOptions

    @Flag(name: .long, help: "Print the added torrents as JSON.")
    var json = false

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("Name at least one .torrent file or magnet link.") }
        if let dir, dir.isEmpty { throw ValidationError("--dir needs a folder.") }
    }

    func run() throws {
        let saveDirectory = absolutePath(dir ?? FileManager.default.currentDirectoryPath)
        var news = try TorrentInput.load(sources).map {
            NewTorrent(source: $0, saveDirectory: saveDirectory, paused: paused, atTop: top)
        }
        // With --top, adding in reverse keeps the arguments' order at the top of the queue.
        if top { news.reverse() }
        // What the database does not store is freed before it is opened: for a large .torrent, its
        // file table (or piece hashes, or piece layers) and the database's own memory would otherwise
        // add up on top of its bytes.
        for index in news.indices { news[index].releaseParsedContent() }
        try checkSaveDirectory(saveDirectory)
        let database = try store.openStore()
        var added: [TorrentRecord] = []
        for new in news {
            switch try database.adder.add(new) {
            case .added(var record):
                if let order = orderOptions.order {
                    try database.queries.setDownloadOrder(torrentId: record.id, order)
                    record.downloadOrder = order
                }
                added.append(record)
            case .duplicate(let record):
                FileHandle.standardError.write(
                    Data(
                        "btq: already in the queue as #\(record.id) \(record.shownName) (\(record.displayHash)); unchanged\n"
                            .utf8))
            }
        }
        if top { added.reverse() }
        if json {
            try JSONOutput.print(added.map(TorrentJSON.init))
        } else {
            for record in added {
                let order = record.downloadOrder == .rarest ? "" : ", \(record.downloadOrder.rawValue)"
                print(
                    "added #\(record.id) \(record.shownName) (\(record.displayHash))\(paused ? ", paused" : "")\(order)"
                )
            }
        }
    }

    /// The folder must be usable: an existing folder, or creatable later (its parent chain may not
    /// hold a regular file).
    private func checkSaveDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        var probe = path
        while !FileManager.default.fileExists(atPath: probe, isDirectory: &isDirectory) {
            let parent = (probe as NSString).deletingLastPathComponent
            if parent == probe { return }
            probe = parent
        }
        guard isDirectory.boolValue else {
            throw UserError("\(probe): not a folder, cannot save downloads under it")
        }
    }
}
