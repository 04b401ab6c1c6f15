import ArgumentParser
import Engine
import Store

/// `btq limit`: shows or sets a torrent's own download and upload rate limits.
struct Limit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limit",
        abstract: "Show or set a torrent's own rate limits (the global ones are `btq config` settings).",
        discussion: """
            Rates are bytes per second with K, M or G suffixes (powers of 1024): 2M, 512K, 300000. \
            0 or none removes the torrent's own limit; download_rate_limit and upload_rate_limit still apply. \
            A running `btq run` follows the change within a second.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("List id or info-hash prefix.", valueName: "torrent"))
    var torrent: String

    @Option(name: .long, help: ArgumentHelp("Download at most this fast (0 or none: no limit).", valueName: "rate"))
    var down: String?

    @Option(name: .long, help: ArgumentHelp("Upload at most this fast (0 or none: no limit).", valueName: "rate"))
    var up: String?

    func validate() throws {
        for (name, value) in [("--down", down), ("--up", up)] {
            if let value, Self.parse(value) == nil {
                throw ValidationError("\(name) '\(value)' is not a rate such as 2M, 512K, 300000, 0 or none.")
            }
        }
    }

    /// Bytes per second; 0 for none.
    static func parse(_ text: String) -> Int64? {
        text.lowercased() == "none" ? 0 : SettingText.rate(text)
    }

    func run() throws {
        let database = try store.openStore()
        let record = try database.queries.resolve(torrent)
        var limits = try database.limits.rateLimits(torrentId: record.id)
        if down != nil || up != nil {
            if let down = down.flatMap(Self.parse) { limits.download = down > 0 ? down : nil }
            if let up = up.flatMap(Self.parse) { limits.upload = up > 0 ? up : nil }
            try database.limits.setRateLimits(torrentId: record.id, limits)
        }
        print(
            "#\(record.id) \(record.shownName): download \(SettingText.rateDescription(limits.download ?? 0)), "
                + "upload \(SettingText.rateDescription(limits.upload ?? 0))")
    }
}
