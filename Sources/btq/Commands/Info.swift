import ArgumentParser
import Engine
import Foundation
import Store

/// `btq info`: everything the queue knows about one torrent.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the details of a torrent.")

    @OptionGroup var target: OneTorrent

    @Flag(name: .long, help: "Print JSON (see docs/json.md).")
    var json = false

    func run() throws {
        let (database, record) = try target.resolveForReading()
        let trackers = try database.queries.trackers(torrentId: record.id)
        if json {
            var out = TorrentJSON(record, swarm: SwarmCounts(largestOf: trackers))
            out.trackers = trackers
            try JSONOutput.print(out)
            return
        }
        var lines: [(String, String)] = [
            ("ID", "\(record.id)"),
            ("Name", record.name),
            ("State", record.removedAt == nil ? record.state.rawValue : "removed (\(record.state.rawValue))"),
            ("Info-hash v1", record.infoHashV1 ?? "-"),
            ("Info-hash v2", record.infoHashV2 ?? "-"),
        ]
        if record.isMagnet && record.pieceCount == nil {
            lines.append(("Metadata", "not yet fetched (magnet link)"))
        }
        if let size = record.totalSize {
            lines.append(("Size", "\(Formatting.size(size)) (\(size) bytes) in \(record.fileCount) file(s)"))
        }
        if let count = record.pieceCount, let length = record.pieceLength {
            lines.append(("Pieces", "\(count) x \(Formatting.size(Int64(length)))"))
        }
        lines += [
            ("Progress", "\(Formatting.percent(record.progress)) (\(record.piecesDone) pieces verified)"),
            ("Queue position", "\(record.queuePosition + 1)"),
            ("Save to", record.saveDirectory),
            ("Downloaded", Formatting.size(record.downloaded)),
            ("Uploaded", Formatting.size(record.uploaded)),
            ("Wasted", Formatting.size(record.wasted)),
            ("Ratio", Formatting.ratio(record)),
            ("Added", Formatting.date(record.addedAt)),
        ]
        lines += try transferLines(record, database)
        lines.append(("Order", record.downloadOrder.rawValue))
        if let started = record.startedAt { lines.append(("Started", Formatting.date(started))) }
        if let completed = record.completedAt { lines.append(("Completed", Formatting.date(completed))) }
        if let removed = record.removedAt { lines.append(("Removed", Formatting.date(removed))) }
        if let version = record.version { lines.append(("Meta version", version)) }
        if record.isPrivate { lines.append(("Private", "yes")) }
        if let date = record.creationDate {
            lines.append(("Created", Formatting.date(Date(timeIntervalSince1970: TimeInterval(date)))))
        }
        if let createdBy = record.createdBy { lines.append(("Created by", createdBy)) }
        if let comment = record.comment { lines.append(("Comment", comment)) }
        if let error = record.lastError { lines.append(("Last error", error)) }
        for tracker in trackers {
            var status = "tier \(tracker.tier)"
            if let seeders = tracker.seeders, let leechers = tracker.leechers {
                status += ", \(seeders) seeders, \(leechers) leechers"
            }
            if let completed = tracker.completed { status += ", \(completed) completed" }
            if let scraped = tracker.lastScrapeAt { status += ", scraped \(Formatting.date(scraped))" }
            if let error = tracker.lastError { status += ", error: \(error)" }
            if let error = tracker.scrapeError { status += ", scrape error: \(error)" }
            lines.append(("Tracker", "\(tracker.url) (\(status))"))
        }
        let width = lines.map(\.0.count).max() ?? 0
        for (key, value) in lines {
            print(
                (key + ":").padding(toLength: width + 1, withPad: " ", startingAt: 0) + " " + TerminalText.clean(value))
        }
    }
}
