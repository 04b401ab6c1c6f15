import Engine
import Foundation
import Store

/// What the user named on the command line: a `.torrent` file or a magnet URI, parsed and checked.
enum TorrentInput {
    /// Reads and parses every argument before anything is written, so one bad argument leaves the
    /// database as it was.
    static func load(_ arguments: [String]) throws -> [TorrentSource] {
        try arguments.map(load)
    }

    /// Parses one argument: `magnet:?...` as a magnet link, anything else as a path to a `.torrent` file.
    static func load(_ argument: String) throws -> TorrentSource {
        if argument.lowercased().hasPrefix("magnet:") {
            do {
                return .magnet(try MagnetLink(parsing: argument))
            } catch {
                throw UserError("bad magnet link: \(error)")
            }
        }
        let bytes = try readTorrentFile(argument)
        do {
            return .metainfo(try Metainfo(bytes: bytes))
        } catch {
            throw UserError("\(argument): not a valid torrent: \(error)")
        }
    }

    /// The largest `.torrent` file btq reads (piece hashes of a multi-terabyte torrent fit easily).
    static let maximumTorrentFileSize = 64 << 20

    static func readTorrentFile(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw UserError("\(path): no such file")
        }
        guard !isDirectory.boolValue else {
            throw UserError("\(path): is a folder, not a .torrent file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw UserError("\(path): cannot be read (permission denied?)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumTorrentFileSize + 1) ?? Data()
        } catch {
            throw UserError("\(path): cannot be read: \(error.localizedDescription)")
        }
        guard data.count <= maximumTorrentFileSize else {
            throw UserError("\(path): too large for a .torrent file (over \(maximumTorrentFileSize >> 20) MiB)")
        }
        guard !data.isEmpty else {
            throw UserError("\(path): empty file, not a torrent")
        }
        return [UInt8](data)
    }
}
