import Engine
import Foundation
import Store

/// `torrent-add` over the store, as `btq add` adds: the `.torrent` parsed, its parsed file table,
/// piece hashes and piece layers freed before the store writes (the store keeps the `.torrent`'s bytes
/// and the file list encoded as it stores it), then the file priorities the request names.
enum RPCTorrentAdding {
    /// Adds what `request` names to `store`; a torrent without `download-dir` goes to
    /// `downloadDirectory`.
    static func add(
        _ request: RPCAddRequest, to store: BtqStore, downloadDirectory: String
    ) throws(RPCError) -> RPCAdded {
        let folder = request.downloadDir ?? downloadDirectory
        guard folder.hasPrefix("/") else { throw RPCError.invalidArgument("download-dir must be an absolute path") }
        // The parsed source lives only in `new`, so nothing else keeps the parsed content alive while the
        // database works (a large `.torrent`'s table takes as much memory as its bytes).
        var new = try newTorrent(request, saveDirectory: absolutePath(folder))
        new.releaseParsedContent()
        return try run {
            switch try store.adder.add(new) {
            case .added(let record):
                if !request.priorities.isEmpty, !record.isMagnet {
                    try store.queries.setFilePriorities(
                        torrentId: record.id, try btqIndexes(request.priorities, of: record.id, in: store))
                }
                return RPCAdded(
                    id: record.id, name: record.name, hashString: RPCTorrentMapping.hash(record), isDuplicate: false)
            case .duplicate(let record):
                return RPCAdded(
                    id: record.id, name: record.name, hashString: RPCTorrentMapping.hash(record), isDuplicate: true)
            }
        }
    }

    /// The torrent `request` adds, parsed.
    private static func newTorrent(_ request: RPCAddRequest, saveDirectory: String) throws(RPCError) -> NewTorrent {
        try run {
            let source: TorrentSource
            switch request.source {
            case .metainfo(let bytes):
                guard bytes.count <= TorrentInput.maximumTorrentFileSize else {
                    throw RPCError.invalidArgument("metainfo is too large for a .torrent file")
                }
                do {
                    source = .metainfo(try Metainfo(bytes: bytes))
                } catch {
                    throw RPCError.invalidArgument("invalid or corrupt torrent file: \(error)")
                }
            case .path(let path):
                guard path.hasPrefix("/") else { throw RPCError.invalidArgument("filename must be an absolute path") }
                source = try TorrentInput.load(path)
            case .magnet(let uri):
                source = try TorrentInput.load(uri)
            }
            return NewTorrent(source: source, saveDirectory: saveDirectory, paused: request.paused)
        }
    }

    /// Transmission's file indexes (pad files not counted, as `files` lists them) as btq's.
    static func btqIndexes(_ priorities: [Int: Int], of id: Int64, in store: BtqStore) throws -> [Int: Int] {
        let files = try store.queries.files(torrentId: id).filter { !$0.isPad }.map(\.index)
        var result: [Int: Int] = [:]
        for (index, priority) in priorities {
            guard files.indices.contains(index) else {
                throw RPCError.invalidArgument("torrent \(id) has no file \(index) (it has \(files.count))")
            }
            result[files[index]] = priority
        }
        return result
    }

    private static func run<T>(_ body: () throws -> T) throws(RPCError) -> T {
        try RPCError.catching(body)
    }
}
