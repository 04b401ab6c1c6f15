import ArgumentParser
import Engine
import Foundation
import Store

/// `btq files`: the files of one torrent.
struct Files: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files",
        abstract: "List the files of a torrent, or choose which to download and which first.",
        discussion: """
            High files are downloaded before normal ones, normal before low, skipped ones never (a piece \
            shared by two files follows the higher). Within a priority the torrent's order applies \
            (`btq order`). A running `btq run` follows a change within a second.
            """)

    @OptionGroup var target: OneTorrent

    @Flag(name: .long, help: "Include BEP 47 pad files (never written to disk).")
    var pad = false

    @Flag(name: .long, help: "Print JSON (see docs/json.md); pad files are always included there.")
    var json = false

    @Option(
        name: .long, help: ArgumentHelp("Do not download these files (indexes, e.g. 2,5 or 3-7).", valueName: "list"))
    var skip: String?

    @Option(name: .long, help: ArgumentHelp("Download only these files; skip all others.", valueName: "list"))
    var only: String?

    @Option(name: .long, help: ArgumentHelp("Download these files again at normal priority.", valueName: "list"))
    var want: String?

    @Option(name: .long, help: ArgumentHelp("Download these files before the others.", valueName: "list"))
    var high: String?

    @Option(name: .long, help: ArgumentHelp("Download these files after the others.", valueName: "list"))
    var low: String?

    func validate() throws {
        for (name, value) in [("--skip", skip), ("--only", only), ("--want", want), ("--high", high), ("--low", low)] {
            if let value, FileSelection.parse(value) == nil {
                throw ValidationError("\(name) '\(value)' is not a list of file indexes like 2,5 or 3-7.")
            }
        }
        if only != nil, skip != nil { throw ValidationError("--only and --skip do not go together.") }
    }

    func run() throws {
        let changing = only != nil || skip != nil || want != nil || high != nil || low != nil
        let (database, record) = try (changing ? target.resolve() : target.resolveForReading())
        var files = try database.queries.files(torrentId: record.id)
        var changes: [Int: Int] = [:]
        if let only = only.flatMap(FileSelection.parse) {
            for file in files where !file.isPad { changes[file.index] = only.contains(file.index) ? 4 : 0 }
        }
        for index in skip.flatMap(FileSelection.parse) ?? [] { changes[index] = 0 }
        for index in want.flatMap(FileSelection.parse) ?? [] { changes[index] = FilePriorityName.normal }
        for index in high.flatMap(FileSelection.parse) ?? [] { changes[index] = FilePriorityName.high }
        for index in low.flatMap(FileSelection.parse) ?? [] { changes[index] = FilePriorityName.low }
        if !changes.isEmpty {
            try database.queries.setFilePriorities(torrentId: record.id, changes)
            files = try database.queries.files(torrentId: record.id)
        }
        if json {
            try JSONOutput.print(files.map(FileJSON.init))
            return
        }
        if files.isEmpty {
            print(record.isMagnet ? "no file list yet: the metadata of this magnet link is not fetched" : "no files")
            return
        }
        var table = Table([
            .init("#", .right), .init("SIZE", .right), .init("DONE", .right), .init("PRIORITY"), .init("PATH"),
        ])
        for file in files where pad || !file.isPad {
            let done = file.bytesDone.map { file.length == 0 ? 1 : Double($0) / Double(file.length) }
            table.append([
                "\(file.index)",
                Formatting.size(file.length),
                done.map(Formatting.percent) ?? "-",
                FilePriorityName.name(file.priority),
                file.path + (file.isPad ? " (pad)" : ""),
            ])
        }
        print(table.render(), terminator: "")
    }
}

/// Words for the stored file priorities.
enum FilePriorityName {
    /// What `--high`, `--want` and `--low` store (`PiecePriority` levels).
    static let high = Int(PiecePriority.highest.level)
    static let normal = Int(PiecePriority.normal.level)
    static let low = Int(PiecePriority.low.level)

    static func name(_ priority: Int) -> String {
        switch priority {
        case ..<1: return "skip"
        case 1...3: return "low"
        case 4: return "normal"
        default: return "high"
        }
    }
}
