import Testing

@testable import Engine

/// Inputs that the fuzz targets of `Tests/Fuzzing` found to break a promise, kept byte for byte so the
/// fault stays fixed. Each test names its target; replaying the input under `scripts/fuzz` found the fault.
@Suite(.timeLimit(.minutes(5))) struct FuzzRegressionTests {
    /// FuzzMetainfo: fetched metadata made of an info dictionary followed by one more `e`. Wrapped into a
    /// `.torrent`, the `e` closed the wrapper and the rest was ignored, so the metadata was accepted with
    /// an info-hash other than that of the bytes fetched (those a magnet link's hash is checked against).
    static let infoDictionaryThenAnE: [UInt8] =
        Array(
            ("d10:creYted by45:libtorrent13:creation datei1359599503e4:infod5:filesld6:lengthi425e4:pathl3:foo"
                + "7:bar.txteed6:lengthi425e4:pathl3:foo7:bar.txteee4:name4:temp12:piece lengthi16384e6:pieces20:")
                .utf8)
        + [
            0x82, 0x9E, 0xBC, 0x8C, 0x26, 0xBE, 0xC7, 0x4A, 0x57, 0x9B, 0x7D, 0xDC, 0x41, 0x34, 0x75, 0x2C, 0xB7, 0xBC,
            0x91, 0x87,
        ] + Array("ee".utf8)

    /// FuzzMetainfo: a path element that starts with a combining mark (U+0320). A file's path is kept
    /// joined with `/` and split again; split by characters, the `/` and the mark were one character, so
    /// the element stayed joined to the one before it, `/` and all (an unsafe path, refused by the
    /// storage). The input itself is in the target's corpus (`combining-mark-after-slash.torrent`).
    @Test func anElementStartingWithACombiningMarkStaysAnElement() throws {
        let element = "\u{0320}___padding_file"
        let info =
            "d5:filesld6:lengthi10e4:pathl\(element.utf8.count):\(element)1:0eee4:name6:sa____"
            + "12:piece lengthi16384e6:pieces20:\(String(repeating: "a", count: 20))e"
        let metainfo = try Metainfo(bytes: Array("d4:info\(info)e".utf8))
        #expect(metainfo.files.map(\.path) == [["sa____", element, "0"]])
        #expect(metainfo.files.allSatisfy { FileStorage.isSafe($0.path) })
        #expect("a/\u{0320}b//c".pathElements == ["a", "\u{0320}b", "", "c"])
    }

    @Test func fetchedMetadataWithBytesAfterTheDictionaryIsRefused() throws {
        let trackers = ["http://127.0.0.1:6969/announce"]
        let error = #expect(throws: MetainfoError.self) {
            try Metainfo(fetchedInfo: Self.infoDictionaryThenAnE, trackers: trackers)
        }
        #expect(error?.category == .invalidBencoding)
        #expect(error?.bencodeError?.code == .trailingData)
        // The dictionary alone is fine, and the torrent made of it is named by the hash of those bytes.
        let dictionary = Array(Self.infoDictionaryThenAnE.dropLast())
        let metainfo = try Metainfo(fetchedInfo: dictionary, trackers: trackers)
        #expect(metainfo.infoBytes == dictionary)
        #expect(metainfo.infoHashes.matches(info: dictionary))
    }
}
