/// The folders and files of a torrent as a tree: one node per distinct path, found by (parent node,
/// element name) in one open-addressing hash table, so entering a path costs its number of elements
/// (never the square of its depth, as joined prefixes would).
///
/// Names are not copied: a node records where its name lies in the torrent's shared path buffer
/// (``TorrentFiles/pathText``), and only names made up here (the folder, renamed files) are stored
/// apart. A node takes 16 bytes and its slot 4 to 8, so the tree of a torrent of 250,000 files takes
/// about 6 MB. The hash is Swift's `Hasher`, seeded anew by each process, so a torrent cannot be
/// made to collide on purpose.
struct PathTree {
    private struct Node {
        var parent: UInt32
        /// Where the name starts: in `text`, or in `ownNames` when `ownName`.
        var nameStart: UInt32
        var hash: UInt32
        var nameLength: UInt16
        var ownName: Bool
    }

    /// The node of the download folder itself.
    static let root = 0

    private let text: [UInt8]
    private var ownNames: [UInt8] = []
    private var nodes: [Node]
    /// Node index + 1 of each slot; 0 is free. A power of two, at most 70 % full.
    private var slots: [UInt32]

    /// An empty tree whose names lie in `text`, with room for `capacity` paths before it grows.
    init(text: [UInt8], capacity: Int = 0) {
        self.text = text
        nodes = [Node(parent: 0, nameStart: 0, hash: 0, nameLength: 0, ownName: true)]
        nodes.reserveCapacity(capacity + 1)
        var size = 16
        while size * 7 / 10 < capacity + 1 { size *= 2 }
        slots = [UInt32](repeating: 0, count: size)
    }

    /// The node below `parent` whose name is `text[name]`, created as a folder when that path does
    /// not exist yet.
    mutating func folder(in parent: Int, named name: Range<Int>) -> Int {
        let text = text
        return text.withUnsafeBufferPointer { buffer in
            let bytes = UnsafeBufferPointer(rebasing: buffer[name])
            let (found, hash) = find(parent, bytes)
            return found ?? add(parent, hash: hash, start: name.lowerBound, length: name.count, own: false)
        }
    }

    /// The node below `parent` named `name` (a name that is not in `text`), created as a folder when
    /// that path does not exist yet.
    mutating func folder(in parent: Int, named name: String) -> Int {
        var name = name
        return name.withUTF8 { bytes in
            let (found, hash) = find(parent, bytes)
            return found ?? addOwn(parent, hash: hash, bytes)
        }
    }

    /// Makes `text[name]` below `folder` a file and returns true, unless that path is already taken (by
    /// a file or a folder).
    mutating func claimFile(in folder: Int, named name: Range<Int>) -> Bool {
        let text = text
        return text.withUnsafeBufferPointer { buffer in
            let (found, hash) = find(folder, UnsafeBufferPointer(rebasing: buffer[name]))
            guard found == nil else { return false }
            _ = add(folder, hash: hash, start: name.lowerBound, length: name.count, own: false)
            return true
        }
    }

    /// Makes `name` (a name that is not in `text`) below `folder` a file and returns true, unless that
    /// path is already taken.
    mutating func claimFile(in folder: Int, named name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            let (found, hash) = find(folder, bytes)
            guard found == nil else { return false }
            _ = addOwn(folder, hash: hash, bytes)
            return true
        }
    }

    /// The node named `bytes` below `parent`, if any, and the hash of that pair.
    private func find(_ parent: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> (node: Int?, hash: UInt32) {
        var hasher = Hasher()
        hasher.combine(parent)
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        let hash = UInt32(truncatingIfNeeded: hasher.finalize())
        let mask = slots.count - 1
        var slot = Int(hash) & mask
        while slots[slot] != 0 {
            let index = Int(slots[slot]) - 1
            let node = nodes[index]
            if node.hash == hash, Int(node.parent) == parent, Int(node.nameLength) == bytes.count,
                nameEquals(node, bytes)
            {
                return (index, hash)
            }
            slot = (slot + 1) & mask
        }
        return (nil, hash)
    }

    private func nameEquals(_ node: Node, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(node.nameStart)
        let names = node.ownName ? ownNames : text
        return names.withUnsafeBufferPointer { buffer in
            UnsafeBufferPointer(rebasing: buffer[start..<start + Int(node.nameLength)]).elementsEqual(bytes)
        }
    }

    private mutating func addOwn(_ parent: Int, hash: UInt32, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let start = ownNames.count
        ownNames.append(contentsOf: bytes)
        return add(parent, hash: hash, start: start, length: bytes.count, own: true)
    }

    private mutating func add(_ parent: Int, hash: UInt32, start: Int, length: Int, own: Bool) -> Int {
        let index = nodes.count
        // Names are path elements (at most 255 bytes) and `text` is far below 4 GiB.
        nodes.append(
            Node(
                parent: UInt32(parent), nameStart: UInt32(start), hash: hash, nameLength: UInt16(clamping: length),
                ownName: own))
        if nodes.count * 10 > slots.count * 7 {
            grow()
        } else {
            place(index)
        }
        return index
    }

    /// Puts node `index` in the first free slot of its probe sequence.
    private mutating func place(_ index: Int) {
        let mask = slots.count - 1
        var slot = Int(nodes[index].hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = UInt32(index + 1)
    }

    /// Doubles the table and places every node (the root, which has no name, excepted) again.
    private mutating func grow() {
        slots = [UInt32](repeating: 0, count: slots.count * 2)
        for index in 1..<nodes.count { place(index) }
    }
}
