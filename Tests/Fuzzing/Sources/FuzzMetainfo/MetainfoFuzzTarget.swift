import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    MetainfoFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes the `.torrent` parser twice per input: as a whole `.torrent` file (``Metainfo/init(bytes:)``)
/// and as an info dictionary fetched from peers (``Metainfo/init(fetchedInfo:trackers:)``). Whatever is
/// accepted must keep the promises of ``Metainfo``: safe paths, contiguous files adding up to the total,
/// a piece count that fits the length, and a file map the storage layer can build and query.
@main
enum MetainfoFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static func run(_ bytes: [UInt8]) {
        if let metainfo = try? Metainfo(bytes: bytes) {
            check(metainfo)
            let link = MagnetLink.make(from: metainfo)
            if link.uri.utf8.count <= MagnetLink.maxURILength {
                let parsed = try? MagnetLink(parsing: link.uri)
                FuzzCheck.require(parsed?.infoHashes == metainfo.infoHashes, "the magnet link names the torrent")
            }
        }
        if let fetched = try? Metainfo(fetchedInfo: bytes, trackers: ["http://127.0.0.1:6969/announce"]) {
            check(fetched)
            FuzzCheck.require(fetched.infoHashes.matches(info: bytes), "fetched metadata matches its own hash")
        }
    }

    static func check(_ metainfo: Metainfo) {
        FuzzCheck.require(!metainfo.files.isEmpty, "a torrent has files")
        FuzzCheck.require(metainfo.pieceLength > 0, "the piece length is positive")
        FuzzCheck.require(metainfo.totalLength >= 0, "the total length is not negative")
        let expectedPieces = (metainfo.totalLength + Int64(metainfo.pieceLength) - 1) / Int64(metainfo.pieceLength)
        FuzzCheck.require(Int64(metainfo.pieceCount) == expectedPieces, "pieceCount is ceil(total / pieceLength)")
        if let hashes = metainfo.pieceHashes {
            FuzzCheck.require(hashes.count == 20 * metainfo.pieceCount, "20 bytes of hash per piece")
        }
        var offset: Int64 = 0
        for file in metainfo.files {
            FuzzCheck.require(file.length >= 0, "a file length is not negative")
            FuzzCheck.require(file.offset == offset, "files are contiguous")
            FuzzCheck.require(isSafe(file.path), "unsafe path \(file.path)")
            if let target = file.symlinkTarget { FuzzCheck.require(isSafe(target), "unsafe link target \(target)") }
            offset += file.length
        }
        FuzzCheck.require(offset == metainfo.totalLength, "the files add up to the total length")
        let map = FileSpanMap(metainfo)
        let layout = map.layout
        FuzzCheck.require(layout.pieceCount == metainfo.pieceCount, "the layout has the torrent's pieces")
        for piece in Set([0, layout.pieceCount / 2, layout.pieceCount - 1]) where piece >= 0 {
            let index = PieceIndex(piece)
            let spans = map.spans(piece: index)
            let covered = spans.reduce(0) { $0 + $1.length }
            FuzzCheck.require(covered == layout.length(of: index), "a piece's spans cover it exactly")
        }
        for file in Set([0, metainfo.files.count - 1]) {
            _ = map.pieceRange(touching: FileIndex(file))
        }
    }

    /// The rules the parser promises for every path element (see `PathSanitizer`).
    static func isSafe(_ path: [String]) -> Bool {
        !path.isEmpty
            && path.allSatisfy { element in
                !element.isEmpty && element != "." && element != ".." && element.utf8.count <= 255
                    && !element.utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == 0 }
            }
    }
}
