import ArgumentParser
import Engine
import Foundation

/// `btq create`: makes a v1, v2 (`--v2`) or hybrid (`--hybrid`) .torrent of a file or a folder.
struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Make a .torrent file of a file or a folder (hashing on all cores)."
    )

    @Argument(help: ArgumentHelp("The file or folder to share.", valueName: "path"))
    var path: String

    @Option(
        name: [.short, .long],
        help: ArgumentHelp("Where to write the torrent (default: NAME.torrent here).", valueName: "file"))
    var output: String?

    @Option(
        name: .customLong("tracker"),
        help: ArgumentHelp("A tracker URL; repeat for backups, one tier each.", valueName: "url"))
    var trackers: [String] = []

    @Option(name: .customLong("web-seed"), help: ArgumentHelp("A web seed URL (BEP 19); repeatable.", valueName: "url"))
    var webSeeds: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Piece size, a power of two from 16K to 64M, e.g. 256K or 4M (default: automatic).", valueName: "size"))
    var pieceSize: String?

    @Flag(name: .customLong("private"), help: "Mark the torrent private (BEP 27): peers only from its trackers.")
    var isPrivate = false

    @Option(name: .long, help: "A comment stored in the torrent.")
    var comment: String?

    @Flag(name: .long, help: "Overwrite the output file if it exists.")
    var force = false

    @Flag(name: .customLong("v2"), help: "Make a v2-only torrent (BEP 52: SHA-256 merkle trees per file).")
    var v2 = false

    @Flag(
        name: .customLong("hybrid"),
        help: "Make a hybrid torrent: v1 and v2 descriptions of the same content (v1 clients can use it too).")
    var hybrid = false

    func validate() throws {
        if v2, hybrid { throw ValidationError("--v2 and --hybrid exclude each other (a hybrid is v2 too).") }
        if let pieceSize {
            guard let bytes = Self.parseSize(pieceSize) else {
                throw ValidationError("--piece-size '\(pieceSize)' is not a size like 256K or 4M.")
            }
            guard bytes >= 16 * 1024, bytes <= 64 << 20, bytes & (bytes - 1) == 0 else {
                throw ValidationError("--piece-size must be a power of two from 16K to 64M, not \(pieceSize).")
            }
        }
        for url in trackers + webSeeds where URL(string: url)?.scheme == nil {
            throw ValidationError("'\(url)' is not a URL.")
        }
    }

    /// Parses `16384`, `16K`, `16KiB`, `4M`, `4MiB` (binary multiples).
    static func parseSize(_ text: String) -> Int? {
        var digits = text.uppercased()
        var multiplier = 1
        for (suffix, factor) in [("KIB", 1 << 10), ("MIB", 1 << 20), ("K", 1 << 10), ("M", 1 << 20)]
        where digits.hasSuffix(suffix) {
            digits.removeLast(suffix.count)
            multiplier = factor
            break
        }
        guard let value = Int(digits), value > 0, value <= Int.max / multiplier else { return nil }
        return value * multiplier
    }

    func run() throws {
        let source = absolutePath(path)
        guard FileManager.default.fileExists(atPath: source) else {
            throw UserError("\(path): no such file or folder")
        }
        let name = (source as NSString).lastPathComponent
        let target = absolutePath(output ?? name + ".torrent")
        if !force, FileManager.default.fileExists(atPath: target) {
            throw UserError("\(target) exists; use --force to overwrite it")
        }
        var options = TorrentCreator.Options()
        options.trackers = trackers.map { [$0] }
        options.webSeeds = webSeeds
        options.pieceLength = pieceSize.flatMap(Self.parseSize)
        options.isPrivate = isPrivate
        options.comment = comment
        options.createdBy = "btq/\(BtqVersion.string)"
        options.version = v2 ? .v2 : hybrid ? .hybrid : .v1
        let started = Date()
        let bytes = try TorrentCreator(options: options).create(from: source)
        let torrent = try Metainfo(bytes: bytes)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: target), options: .atomic)
        } catch {
            throw UserError("\(target): cannot write: \(error.localizedDescription)")
        }
        let seconds = Date().timeIntervalSince(started)
        print("created \(target)")
        if let v1 = torrent.infoHashes.v1 { print("  info-hash \(v1.hex)") }
        if let v2 = torrent.infoHashes.v2 { print("  info-hash v2 \(v2.hex)") }
        print(
            "  \(torrent.files.count) file(s), \(Formatting.size(torrent.totalLength)), \(torrent.pieceCount) pieces of "
                + "\(Formatting.size(Int64(torrent.pieceLength))), hashed in \(String(format: "%.2f", seconds)) s")
    }
}
