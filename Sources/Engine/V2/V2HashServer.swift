/// Answers the BEP 52 `hash request`s of a v2 or hybrid torrent's peers from the piece layers it holds.
///
/// Each file longer than a piece gets its ``V2HashTree`` the first time a peer asks for it (one pass
/// over its piece layer, then about twice the layer's bytes kept for the run), so the memory is bounded
/// by the torrent's own piece layers and each answer costs only the hashes it returns. A request for
/// a root that is not one of the torrent's files, for the block layer (it needs the data), out of
/// range, or for a file whose piece layer does not hash to its root is answered with `hash reject`.
public struct V2HashServer: Sendable {
    /// A file we can answer for, by its `pieces root`.
    private struct File: Sendable {
        let length: Int64
        /// Its piece layer, for a file longer than a piece.
        let pieceLayer: ArraySlice<UInt8>?
    }

    private let files: [[UInt8]: File]
    private let pieceLength: Int
    /// The trees built so far, by root; `nil` for a file whose layer did not check out.
    private var trees: [[UInt8]: V2HashTree?] = [:]

    /// The server of `metainfo`'s files; `nil` for a v1 torrent.
    public init?(metainfo: Metainfo) {
        guard metainfo.version != .v1 else { return nil }
        var files: [[UInt8]: File] = [:]
        for index in metainfo.files.indices where !metainfo.files.isPad(at: index) {
            let length = metainfo.files.length(at: index)
            guard length > 0, let root = metainfo.files[index].piecesRoot else { continue }
            let layer = length > Int64(metainfo.pieceLength) ? metainfo.pieceLayers[root].map { $0[...] } : nil
            files[root] = File(length: length, pieceLayer: layer)
        }
        self.files = files
        self.pieceLength = metainfo.pieceLength
    }

    /// The reply to `request`: `hashes`, or `hash reject` saying why in `refusal`.
    public mutating func answer(_ request: HashRequest) -> (reply: HashMessage, refusal: String?) {
        do throws(V2HashTree.Refusal) {
            let hashes = try tree(for: request.piecesRoot).answer(request)
            return (.hashes(request, hashes: hashes), nil)
        } catch {
            return (.reject(request), error.description)
        }
    }

    /// The tree of the file with root `root`, built on first use.
    private mutating func tree(for root: [UInt8]) throws(V2HashTree.Refusal) -> V2HashTree {
        guard let file = files[root] else { throw V2HashTree.Refusal(description: "no file has this pieces root") }
        guard let layer = file.pieceLayer else {
            throw V2HashTree.Refusal(description: "the file's hashes below its root need its data")
        }
        if let built = trees[root] {
            guard let built else { throw V2HashTree.Refusal(description: "the file's piece layer is inconsistent") }
            return built
        }
        let tree = V2HashTree(piecesRoot: root, pieceLayer: layer, fileLength: file.length, pieceLength: pieceLength)
        trees[root] = .some(tree)
        guard let tree else { throw V2HashTree.Refusal(description: "the file's piece layer is inconsistent") }
        return tree
    }
}
