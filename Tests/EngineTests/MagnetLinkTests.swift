import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct MagnetLinkTests {
    static let v1Hex = "b61560c2918f463768cd122b6d2fdd47b77bdb35"
    static let v2Hex = "95e04d0c4bad94ab206efa884666fd89777dbe4f7bd9945af1829037a85c6192"

    @Test func hexInfoHashWithTrackersPeersAndWebSeeds() throws {
        let uri =
            "magnet:?xt=urn:btih:\(Self.v1Hex.uppercased())&dn=Some+File%20Name.iso"
            + "&tr=udp%3A%2F%2Ftracker.example%3A6969%2Fannounce&tr=http://t2.example/announce"
            + "&tr=udp%3A%2F%2Ftracker.example%3A6969%2Fannounce&ws=http%3A%2F%2Fseed.example%2Ffile"
            + "&x.pe=10.0.0.1:6881&x.pe=%5B2001:db8::1%5D:6881&unknown=1"
        let link = try MagnetLink(parsing: uri)
        #expect(link.infoHashes.v1?.hex == Self.v1Hex)
        #expect(link.infoHashes.v2 == nil)
        #expect(link.displayName == "Some File Name.iso")
        #expect(link.trackers == ["udp://tracker.example:6969/announce", "http://t2.example/announce"])
        #expect(link.webSeeds == ["http://seed.example/file"])
        #expect(link.peers == ["10.0.0.1:6881", "[2001:db8::1]:6881"])
        #expect(link.uri == uri)
    }

    @Test func base32InfoHash() throws {
        let bytes = try #require(HexCoding.decode(Self.v1Hex))
        let base32 = Base32.encode(bytes)
        #expect(base32.count == 32)
        #expect(Base32.decode(base32) == bytes)
        #expect(Base32.decode(base32.lowercased()) == bytes)
        let link = try MagnetLink(parsing: "MAGNET:?xt=urn:btih:\(base32)")
        #expect(link.infoHashes.v1?.hex == Self.v1Hex)
    }

    @Test func v2AndHybridInfoHashes() throws {
        let v2Only = try MagnetLink(parsing: "magnet:?xt=urn:btmh:1220\(Self.v2Hex)&dn=test1MB")
        #expect(v2Only.infoHashes.v1 == nil)
        #expect(v2Only.infoHashes.v2?.hex == Self.v2Hex)
        let hybrid = try MagnetLink(
            parsing: "magnet:?xt.1=urn:btih:\(Self.v1Hex)&xt.2=urn:btmh:1220\(Self.v2Hex.uppercased())")
        #expect(hybrid.infoHashes.v1?.hex == Self.v1Hex)
        #expect(hybrid.infoHashes.v2?.hex == Self.v2Hex)
    }

    @Test(arguments: [
        ("http://example.com/?xt=urn:btih:\(v1Hex)", MagnetError.Code.notAMagnetLink),
        ("", .notAMagnetLink),
        ("magnet:?dn=nothing&tr=http://t/a", .missingInfoHash),
        ("magnet:?xt=urn:sha1:ABCDEF", .missingInfoHash),
        ("magnet:?xt=urn:btih:\(v1Hex.dropLast())", .invalidInfoHash),
        ("magnet:?xt=urn:btih:\(v1Hex.dropLast())g", .invalidInfoHash),
        ("magnet:?xt=urn:btih:ABCDEFGHIJKLMNOPQRSTUVWXYZ234561", .invalidInfoHash),
        ("magnet:?xt=urn:btmh:1220\(v2Hex.dropLast(2))", .invalidInfoHash),
        ("magnet:?xt=urn:btmh:1114\(v2Hex)", .unsupportedHashFunction),
        ("magnet:?xt=urn:btih:\(v1Hex)&xt=urn:btih:\(String(repeating: "0", count: 40))", .conflictingInfoHashes),
        ("magnet:?xt=urn:btih:\(v1Hex)&dn=bad%2", .invalidPercentEncoding),
        ("magnet:?xt=urn:btih:\(v1Hex)&tr=%zz", .invalidPercentEncoding),
        ("magnet:?xt=urn:btih:\(v1Hex)&dn=" + String(repeating: "a", count: 70_000), .tooLong),
    ])
    func badMagnets(uri: String, code: MagnetError.Code) {
        #expect {
            try MagnetLink(parsing: uri)
        } throws: { error in
            guard let error = error as? MagnetError else { return false }
            return error.code == code && !error.message.isEmpty
        }
    }

    @Test func makesURIsThatParseBack() throws {
        let link = MagnetLink(
            infoHashes: InfoHashes(v1: InfoHashV1(hex: Self.v1Hex), v2: InfoHashV2(hex: Self.v2Hex))!,
            displayName: "Ünïcode & spaces", trackers: ["udp://t.example:80/announce?a=1&b=2"],
            webSeeds: ["http://s.example/x y"], peers: ["[::1]:6881"], uri: "")
        let uri = link.makeURI()
        #expect(uri.hasPrefix("magnet:?xt=urn:btih:\(Self.v1Hex)&xt=urn:btmh:1220\(Self.v2Hex)&dn="))
        #expect(!uri.contains(" "))
        let parsed = try MagnetLink(parsing: uri)
        #expect(parsed.infoHashes == link.infoHashes)
        #expect(parsed.displayName == link.displayName)
        #expect(parsed.trackers == link.trackers)
        #expect(parsed.webSeeds == link.webSeeds)
        #expect(parsed.peers == link.peers)
    }

    @Test func magnetOfATorrent() throws {
        let metainfo = try Metainfo(bytes: ConformanceCorpus.bytes("v2_hybrid.torrent"))
        let link = MagnetLink.make(from: metainfo)
        #expect(link.infoHashes == metainfo.infoHashes)
        #expect(link.displayName == "bittorrent-v1-v2-hybrid-test")
        #expect(try MagnetLink(parsing: link.uri).infoHashes == metainfo.infoHashes)
    }
}
