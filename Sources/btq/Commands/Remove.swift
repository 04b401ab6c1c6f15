import ArgumentParser
import Engine
import Foundation
import Store

/// `btq remove`: takes torrents out of the queue.
struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove torrents from the queue.",
        discussion: """
            A removed torrent keeps its history (`btq list --all` still shows it) unless --purge \
            is given. --delete-data also deletes the torrent's downloaded files, and nothing else: \
            only paths the torrent itself names, inside its save folder.
            """,
        aliases: ["rm"]
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("List ids or info-hash prefixes.", valueName: "torrent"))
    var torrents: [String]

    @Flag(name: .long, help: "Also delete the downloaded data.")
    var deleteData = false

    @Flag(name: .long, help: "Forget the torrent entirely, history included.")
    var purge = false

    func validate() throws {
        guard !torrents.isEmpty else { throw ValidationError("Name at least one torrent.") }
    }

    func run() throws {
        let database = try store.openStore()
        // Resolve every name first: one unknown name changes nothing.
        var records: [TorrentRecord] = []
        for name in torrents {
            let record = try database.queries.resolve(name, includeRemoved: purge)
            if !records.contains(where: { $0.id == record.id }) { records.append(record) }
        }
        for record in records {
            let files = deleteData ? try database.queries.files(torrentId: record.id) : []
            try database.queue.remove(torrentId: record.id, purge: purge)
            var note = purge ? "purged" : "removed"
            if deleteData {
                let deleted = DataDeleter.delete(files: files, of: record)
                note += ", \(deleted.removed) file(s) deleted"
                for failure in deleted.failures {
                    FileHandle.standardError.write(Data("btq: could not delete \(failure)\n".utf8))
                }
            }
            print("\(note) #\(record.id) \(record.shownName)")
        }
    }
}

/// Deletes a torrent's files from its save folder, then the folders it made that are left empty. Every
/// name is unlinked in its parent folder resolved beneath the save folder with no symlink on the way
/// (``DownloadFolder``): a symlink is deleted, never what it points to, and nothing outside is touched.
enum DataDeleter {
    static func delete(files: [FileRecord], of record: TorrentRecord) -> (removed: Int, failures: [String]) {
        let folder = DownloadFolder(path: record.saveDirectory)
        var removed = 0
        var failures: [String] = []
        var folders = Set<[String]>()
        for file in files where !file.isPad {
            let components = file.path.pathElements
            var parents = Array(components.dropLast())
            while !parents.isEmpty {
                folders.insert(parents)
                parents.removeLast()
            }
            do {
                if try folder.removeFile(components) { removed += 1 }
            } catch {
                failures.append("\(error)")
            }
        }
        // Deepest first, and only when empty: a folder the user put other things in stays.
        for components in folders.sorted(by: { $0.count > $1.count }) {
            folder.removeFolderIfEmpty(components)
        }
        return (removed, failures)
    }
}
