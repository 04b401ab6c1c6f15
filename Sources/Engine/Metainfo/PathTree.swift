/// The folders and files of a torrent as a tree: one node per distinct path, found by (parent node,
/// element name) in one hash table, so entering a path costs its number of elements (never the
/// square of its depth, as joined prefixes would).
struct PathTree {
    private struct Key: Hashable {
        var parent: Int
        /// A copy of the element: a slice of the path (a `Substring`) would be twice as large, and names of
        /// up to 15 bytes are stored inside the `String` without an allocation.
        var name: String
    }

    /// The node of the download folder itself.
    static let root = 0

    private var nodes: [Key: Int]
    private var nodeCount = 1

    /// An empty tree with room for `capacity` paths before it grows.
    init(capacity: Int = 0) {
        nodes = Dictionary(minimumCapacity: capacity)
    }

    /// The node `name` below `parent`, created as a folder when that path does not exist yet.
    mutating func folder(in parent: Int, named name: Substring) -> Int {
        let key = Key(parent: parent, name: String(name))
        if let node = nodes[key] { return node }
        return add(key)
    }

    /// Makes `name` below `folder` a file and returns true, unless that path is already taken (by a
    /// file or a folder).
    mutating func claimFile(in folder: Int, named name: Substring) -> Bool {
        let key = Key(parent: folder, name: String(name))
        guard nodes[key] == nil else { return false }
        _ = add(key)
        return true
    }

    private mutating func add(_ key: Key) -> Int {
        let node = nodeCount
        nodeCount += 1
        nodes[key] = node
        return node
    }
}
