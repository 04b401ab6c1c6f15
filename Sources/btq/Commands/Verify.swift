import ArgumentParser
import Engine
import Foundation
import Store

/// `btq verify`: a full recheck of torrents' data.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recheck torrents' data: hash every piece and correct the recorded progress.",
        discussion: """
            Every piece is read back and hashed on all cores; pieces that fail are fetched again by the \
            next download, pieces found good are kept. Blocks of unfinished pieces are dropped (they \
            cannot be checked one by one). Without a running `btq run` the check happens here, with \
            progress; with one, the daemon does it (the torrent's downloading stops meanwhile) and this \
            command waits for its result. Afterwards a paused torrent stays paused and a completed one \
            completed; any other complete torrent is a seed (queued: `btq run` seeds it within the seed \
            limits), an incomplete one is queued to download.
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var selection: TorrentSelection

    @Flag(name: .long, help: "No progress line.")
    var quiet = false

    func run() async throws {
        let path = store.databasePath()
        let database = try store.openStore()
        let records = try selection.records(in: database)
        let lock: DaemonLock
        do {
            lock = try DaemonLock(databasePath: path)
        } catch {
            try await handOver(records, database)
            return
        }
        defer { withExtendedLifetime(lock) {} }
        var failed = false
        for record in records {
            do {
                let job = try CheckJob(record: record, store: database.ports)
                let previous = record.state
                try database.queue.setState(torrentId: record.id, .checking)
                let line = quiet ? nil : CheckProgress(name: record.shownName)
                let result: TorrentChecker.Result
                do {
                    result = try await job.run { checked, total in line?.show(checked, total) }
                } catch {
                    line?.end()
                    try database.queue.setState(torrentId: record.id, .error, error: "recheck failed: \(error)")
                    throw error
                }
                line?.end()
                try RecheckVerdict.record(result, of: record, before: previous, in: database.ports)
                print(CheckJob.summary(record, result))
            } catch {
                FileHandle.standardError.write(Data("btq: #\(record.id) \(record.shownName): \(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// A daemon works this database: it does the checks; this waits for them.
    private func handOver(_ records: [TorrentRecord], _ database: BtqStore) async throws {
        let since = Date()
        for record in records { try database.queue.setState(torrentId: record.id, .checking) }
        if !quiet { print("the running btq daemon rechecks \(records.count) torrent(s); waiting for it") }
        var pending = Set(records.map(\.id))
        while !pending.isEmpty {
            try await Task.sleep(for: .milliseconds(200))
            for id in pending {
                guard let record = try database.queries.torrent(id: id) else {
                    pending.remove(id)
                    continue
                }
                guard record.state != .checking else { continue }
                pending.remove(id)
                // The recheck's own event (a download that starts right after records a start-up check too).
                let detail = try database.queries.events(torrentId: id, since: since).last {
                    $0.kind == EventKind.checked.rawValue && $0.detail?.hasPrefix(TorrentChecker.eventPrefix) == true
                }?.detail
                print("#\(id) \(record.shownName): \(TerminalText.clean(detail ?? record.state.rawValue))")
            }
        }
    }
}

/// A one-line progress display of a recheck, redrawn at most a few times a second.
final class CheckProgress: @unchecked Sendable {
    // Invariant for @unchecked Sendable: every mutable property is accessed only with `lock` held.
    private let lock = NSLock()
    private let name: String
    private let start = ContinuousClock.now
    private var lastDrawn = ContinuousClock.now - .seconds(1)
    private let isTerminal = isatty(STDOUT_FILENO) != 0

    init(name: String) { self.name = name }

    func show(_ checked: Int, _ total: Int) {
        lock.withLock {
            let now = ContinuousClock.now
            guard isTerminal, checked == total || now - lastDrawn >= .milliseconds(200) else { return }
            lastDrawn = now
            let percent = total == 0 ? 100 : checked * 100 / total
            FileHandle.standardOutput.write(
                Data("\r\u{1B}[Kchecking \(name): \(checked)/\(total) pieces (\(percent)%)".utf8))
        }
    }

    func end() {
        lock.withLock {
            if isTerminal { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
        }
    }
}
