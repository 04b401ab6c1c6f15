import Engine
import Store

extension Info {
    /// The torrent's own rate limits and its seeding time, when it has any.
    func transferLines(_ record: TorrentRecord, _ database: BtqStore) throws -> [(String, String)] {
        var lines: [(String, String)] = []
        let limits = try database.limits.rateLimits(torrentId: record.id)
        if limits.download != nil || limits.upload != nil {
            lines.append(
                (
                    "Rate limits",
                    "download \(SettingText.rateDescription(limits.download ?? 0)), "
                        + "upload \(SettingText.rateDescription(limits.upload ?? 0))"
                ))
        }
        let seconds = try database.limits.seedingSeconds(torrentId: record.id)
        if seconds > 0 { lines.append(("Seeding time", ProgressLine.duration(Double(seconds)))) }
        return lines
    }
}
