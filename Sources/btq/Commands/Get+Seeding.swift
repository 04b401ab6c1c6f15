import Engine
import Foundation
import Store

extension Get {
    /// With `--seed`: once a torrent's download is verified it is recorded `seeding` and keeps
    /// uploading until Ctrl-C or a seed limit (`seed_ratio_limit`, `seed_time_limit`), then its
    /// session is stopped. Returns when cancelled (all sessions ended).
    static func followSeeding(_ job: DownloadJob, database: BtqStore, settings: TransferSettings) async {
        var seedingSince: ContinuousClock.Instant?
        var savedSeconds: Int64 = 0
        var base: Int64 = 0
        while !Task.isCancelled {
            let status = await job.session.status()
            if status.failure != nil { return }
            if seedingSince == nil, status.isComplete {
                seedingSince = .now
                await job.session.saveProgressNow()
                try? database.setState(torrentId: job.record.id, .seeding)
                savedSeconds = (try? database.seedingSeconds(torrentId: job.record.id)) ?? 0
                base = status.downloaded > 0 ? status.downloaded : status.bytesDone
                FileHandle.standardError.write(
                    Data("btq: #\(job.record.id) \(job.record.shownName) is complete; seeding (Ctrl-C to stop)\n".utf8))
            }
            if let since = seedingSince {
                let seeded = savedSeconds + (ContinuousClock.now - since).components.seconds
                if let reached = settings.seedLimitReached(
                    uploaded: status.uploaded, base: base, seededSeconds: seeded)
                {
                    try? database.recordEvent(torrentId: job.record.id, .seedLimit, detail: reached)
                    FileHandle.standardError.write(
                        Data("btq: #\(job.record.id) \(job.record.shownName): \(reached)\n".utf8))
                    await job.session.stop()
                    break
                }
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
        if let since = seedingSince {
            try? database.addSeedingSeconds(torrentId: job.record.id, (ContinuousClock.now - since).components.seconds)
        }
    }
}
