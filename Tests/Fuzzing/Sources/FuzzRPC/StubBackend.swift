import Engine
import Synchronization

/// A backend of three torrents that carries out every call and counts the changes.
final class StubBackend: RPCBackend {
    private let count = Mutex(0)
    var changes: Int { count.withLock { $0 } }

    private func changed() { count.withLock { $0 += 1 } }

    func torrents() async throws(RPCError) -> [RPCTorrent] {
        (1...3).map { id in
            RPCTorrent(
                id: Int64(id), hashString: String(repeating: "\(id)", count: 40), name: "t\(id)", state: .downloading,
                totalSize: 100, sizeWhenDone: 100, haveValid: Int64(id * 10), downloadedEver: 5, uploadedEver: 1,
                corruptEver: 0, addedDate: 1, downloadDir: "/d", queuePosition: id, isPrivate: false,
                isMagnet: id == 3, comment: "", creator: "", dateCreated: 0, pieceCount: 4, pieceSize: 25,
                fileCount: 1, magnetLink: "")
        }
    }
    func details(of ids: [Int64], needs: RPCDetailNeeds) async throws(RPCError) -> [Int64: RPCTorrentDetails] {
        let details = RPCTorrentDetails(files: [.init(name: "f", length: 100, bytesCompleted: 10, priority: 4)])
        return Dictionary(uniqueKeysWithValues: ids.map { ($0, details) })
    }
    func add(_ request: RPCAddRequest) async throws(RPCError) -> RPCAdded {
        changed()
        return RPCAdded(id: 4, name: "n", hashString: "h", isDuplicate: false)
    }
    func perform(_ action: RPCAction, on ids: [Int64]) async throws(RPCError) { changed() }
    func remove(_ ids: [Int64], deleteData: Bool) async throws(RPCError) { changed() }
    func change(_ ids: [Int64], _ changes: RPCTorrentChanges) async throws(RPCError) { changed() }
    func move(_ ids: [Int64], _ move: RPCQueueMove) async throws(RPCError) { changed() }
    func session() async throws(RPCError) -> RPCSession {
        RPCSession(
            downloadDir: "/d", peerPort: 1, downloadLimit: 0, uploadLimit: 0, seedRatioLimit: 0, seedIdleMinutes: 0,
            downloadQueueSize: 1, seedQueueSize: 1, dhtEnabled: false, configDir: "/c", rpcPort: 2)
    }
    func changeSession(_ changes: RPCSessionChanges) async throws(RPCError) -> [String] {
        changed()
        return changes.unsupported
    }
    func statistics() async throws(RPCError) -> RPCStatistics { RPCStatistics() }
    func freeSpace(at path: String) async throws(RPCError) -> (free: Int64, total: Int64) { (0, 0) }
}
