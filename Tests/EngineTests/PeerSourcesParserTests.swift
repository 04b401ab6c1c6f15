import Testing

@testable import Engine

/// ``PeerSourcesParser`` on its own: trackers, web seeds, DHT nodes and BEP 38 hints read from a
/// decoded top-level dictionary.
@Suite(.timeLimit(.minutes(5))) struct PeerSourcesParserTests {
    static let parser = PeerSourcesParser(maxCount: 1000)

    /// `value` encoded and decoded again, as the parser gets it.
    static func node(_ value: BencodeValue) throws -> BencodeNode {
        try BencodeDecoder(keyOrder: .lenient).decode(value.encoded)
    }

    @Test func announceListTiersAreTrimmedAndWithoutRepeats() throws {
        let root = try Self.node([
            "announce": "http://fallback.example/announce",
            "announce-list": [
                [" udp://a.example:1/announce\t", "udp://a.example:1/announce", "", 5, "wss://c.example/announce"],
                ["udp://a.example:1/announce"],
                [],
                "not a tier",
                ["http://b.example/announce"],
            ],
        ])
        // A repeat (in any tier), an empty URL and a value that is not a string are dropped, and so
        // are the tiers left empty; a scheme the client does not announce to is still kept here.
        #expect(
            Self.parser.trackerTiers(root) == [
                ["udp://a.example:1/announce", "wss://c.example/announce"], ["http://b.example/announce"],
            ])
    }

    @Test func announceIsTheFallback() throws {
        let unusable = try Self.node(["announce": " http://t.example/announce ", "announce-list": [[""], []]])
        #expect(Self.parser.trackerTiers(unusable) == [["http://t.example/announce"]])
        #expect(Self.parser.trackerTiers(try Self.node(["announce": "  "])) == [])
        #expect(Self.parser.trackerTiers(try Self.node(["comment": "no trackers"])) == [])
    }

    @Test func trackersStopAtMaxCount() throws {
        let parser = PeerSourcesParser(maxCount: 2)
        let root = try Self.node(["announce-list": [["a", "b"], ["c"]]])
        #expect(parser.trackerTiers(root) == [["a", "b"]])
        let split = try Self.node(["announce-list": [["a"], ["b", "c", "d"]]])
        #expect(parser.trackerTiers(split) == [["a"], ["b"]])
    }

    @Test func webSeedsAreEncodedAndNameAFolderWhenMultiFile() throws {
        let root = try Self.node([
            "url-list": [
                " http://s.example/dir/test file ", "http://s.example/dir/test file", 3, "http://h.example/ü", "",
            ]
        ])
        #expect(
            Self.parser.webSeeds(root, fileCount: 2, isMultiFile: true) == [
                "http://s.example/dir/test%20file/", "http://h.example/%C3%BC/",
            ])
        // One file, even in a folder, is named by the URL itself.
        #expect(
            Self.parser.webSeeds(root, fileCount: 1, isMultiFile: true) == [
                "http://s.example/dir/test%20file", "http://h.example/%C3%BC",
            ])
        let single = try Self.node(["url-list": "http://x.example/f%20g"])
        #expect(Self.parser.webSeeds(single, fileCount: 1, isMultiFile: false) == ["http://x.example/f%20g"])
    }

    @Test func dhtNodesNeedAHostAndAPort() throws {
        let root = try Self.node([
            "nodes": [
                ["router.example", 6881], ["::1", 6882], ["host.example", 0], ["host.example", 70_000], ["", 1],
                "junk", ["lonely.example"],
            ]
        ])
        #expect(Self.parser.dhtNodes(root) == ["router.example:6881", "[::1]:6882"])
    }

    @Test func bep38HintsComeFromInfoThenTop() throws {
        let hash = [UInt8](repeating: 9, count: 20)
        let root = try Self.node([
            "collections": ["x", "y"],
            "similar": [.string(hash), "short"],
            "info": ["collections": ["y", "z"], "similar": [.string(hash)]],
        ])
        let info = try #require(root["info"])
        #expect(Self.parser.collections(root, info: info) == ["y", "z", "x"])
        #expect(Self.parser.similarTorrents(root, info: info) == [InfoHashV1(bytes: hash)!])
    }

    @Test func trimmedDropsWhitespaceAndControls() {
        #expect(PeerSourcesParser.trimmed(" \t\u{7F}udp://a.example:1\r\n") == "udp://a.example:1")
        #expect(PeerSourcesParser.trimmed("a b") == "a b")
        #expect(PeerSourcesParser.trimmed(" \n ") == "")
    }
}
