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
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw UserError("\(path): cannot be read: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        // Read straight into the array that is parsed (no intermediate `Data`): a file of the largest
        // size allowed costs its size once. The size from fstat is a hint; reading stops at the limit.
        var status = stat()
        let hint = fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
        var bytes = [UInt8]()
        bytes.reserveCapacity(min(max(hint, 0), maximumTorrentFileSize) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count <= maximumTorrentFileSize {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw UserError("\(path): cannot be read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        guard bytes.count <= maximumTorrentFileSize else {
            throw UserError("\(path): too large for a .torrent file (over \(maximumTorrentFileSize >> 20) MiB)")
        }
        guard !bytes.isEmpty else {
            throw UserError("\(path): empty file, not a torrent")
        }
        return bytes
    }
}
