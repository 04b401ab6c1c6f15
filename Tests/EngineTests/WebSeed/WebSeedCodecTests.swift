import NIOCore
import Testing

@testable import Engine

/// Web seeds (BEP 19): the URL of each file, the ranges asked per file, the response reader's bounds,
/// the cutting of bytes into blocks, and the back-off.
@Suite struct WebSeedCodecTests {
    /// `multi/a b/ü.txt` (10 bytes), a pad of 6, `multi/c` (20 bytes), `multi/empty` (0), `multi/d` (4).
    static let files = TorrentFiles([
        TorrentFile(path: ["multi", "a b", "ü.txt"], length: 10, offset: 0),
        TorrentFile(path: ["multi", ".pad", "6"], length: 6, offset: 10, attributes: .pad),
        TorrentFile(path: ["multi", "c"], length: 20, offset: 16),
        TorrentFile(path: ["multi", "empty"], length: 0, offset: 36),
        TorrentFile(path: ["multi", "d"], length: 4, offset: 36),
    ])

    @Test func singleFileURLIsTheURLOrTheNameBelowIt() {
        let files = TorrentFiles([TorrentFile(path: ["my file.iso"], length: 5, offset: 0)])
        #expect(
            WebSeedURLs(base: "http://h/x/image.iso", files: files, isMultiFile: false).url(ofFile: 0)
                == "http://h/x/image.iso")
        #expect(
            WebSeedURLs(base: "http://h/x/", files: files, isMultiFile: false).url(ofFile: 0)
                == "http://h/x/my%20file.iso")
    }

    @Test func multiFileURLIsBasePlusNamePlusPathEachElementEncoded() {
        let urls = WebSeedURLs(base: "http://h:8080/seed/", files: Self.files, isMultiFile: true)
        #expect(urls.url(ofFile: 0) == "http://h:8080/seed/multi/a%20b/%C3%BC.txt")
        #expect(urls.url(ofFile: 2) == "http://h:8080/seed/multi/c")
        let noSlash = WebSeedURLs(base: "http://h/seed", files: Self.files, isMultiFile: true)
        #expect(noSlash.url(ofFile: 4) == "http://h/seed/multi/d")
        let sneaky = TorrentFiles([TorrentFile(path: ["t", "a?b#c%d"], length: 1, offset: 0)])
        #expect(
            WebSeedURLs(base: "http://h/", files: sneaky, isMultiFile: true).url(ofFile: 0)
                == "http://h/t/a%3Fb%23c%25d")
    }

    @Test func rangesAreSplitPerFileAndPadsAreNeverAsked() {
        // Bytes 4..<40: the end of file 0, the pad (skipped), all of c, the empty file, and d.
        let spans = WebSeedSpan.spans(of: 4..<40, files: Self.files)
        #expect(
            spans == [
                WebSeedSpan(file: 0, fileOffset: 4, length: 6, streamOffset: 4),
                WebSeedSpan(file: 2, fileOffset: 0, length: 20, streamOffset: 16),
                WebSeedSpan(file: 4, fileOffset: 0, length: 4, streamOffset: 36),
            ])
        #expect(spans[0].rangeHeader == "bytes=4-9")
        #expect(WebSeedSpan.spans(of: 11..<15, files: Self.files).isEmpty, "inside the pad: nothing to ask")
        #expect(
            WebSeedSpan.spans(of: 20..<21, files: Self.files)
                == [WebSeedSpan(file: 2, fileOffset: 4, length: 1, streamOffset: 20)])
    }

    @Test func aRunIsTheConsecutiveBlocksAtTheStart() throws {
        let layout = PieceLayout(pieceLength: 32768, totalLength: 32768 * 4)
        let block = { (piece: Int, index: Int) in
            BlockRequest(piece: PieceIndex(piece), begin: UInt32(index * 16384), length: 16384)
        }
        let picked = [block(1, 1), block(1, 0), block(2, 0), block(3, 1)]
        let (run, rest) = try #require(WebSeedRun.first(of: picked, layout: layout))
        #expect(run.blocks == [block(1, 0), block(1, 1), block(2, 0)])
        #expect(run.range == 32768..<(32768 * 2 + 16384))
        #expect(rest == [block(3, 1)])
        #expect(WebSeedRun.first(of: [], layout: layout) == nil)
    }

    @Test func theCutterHandsOverWholeBlocksWhateverTheChunks() {
        let layout = PieceLayout(pieceLength: 32768, totalLength: 32768 + 100)
        let blocks = layout.requests(in: PieceIndex(0)) + layout.requests(in: PieceIndex(1))
        var cutter = WebSeedBlockCutter(WebSeedRun(blocks: blocks, range: 0..<(32768 + 100)))
        let bytes = (0..<(32768 + 100)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var out: [(BlockRequest, ByteBuffer)] = []
        var position = 0
        for size in [1, 16383, 5000, 11_384, 99, 1, 200] where position < bytes.count {
            let end = min(position + size, bytes.count)
            out += cutter.append(ByteBuffer(bytes: bytes[position..<end]).readableBytesView)
            position = end
        }
        #expect(cutter.isDone)
        #expect(out.map(\.0) == blocks)
        #expect(out.flatMap { Array($0.1.readableBytesView) } == bytes)
    }

    @Test func anExactPartialResponseIsReadAndReusable() throws {
        var reader = WebSeedResponseReader(offset: 100, length: 50)
        #expect(
            reader.head(status: 206, headers: [("Content-Range", "bytes 100-149/1000"), ("content-length", "50")])
                == .read)
        #expect(try reader.body(20) == 20)
        #expect(try reader.body(30) == 30)
        try reader.end()
        #expect(reader.isComplete && reader.reusable)
    }

    @Test func aPartialResponseForAnotherRangeIsRefused() {
        var wrong = WebSeedResponseReader(offset: 100, length: 50)
        guard case .failed(.wrongRange) = wrong.head(status: 206, headers: [("Content-Range", "bytes 0-49/1000")])
        else {
            Issue.record("another range is refused")
            return
        }
        for text in ["bytes 100-149", "bits 100-149/1000", "bytes 149-100/1000", "bytes 100-149/120", "bytes -1-2/9"] {
            var reader = WebSeedResponseReader(offset: 100, length: 50)
            guard case .failed(.wrongRange) = reader.head(status: 206, headers: [("Content-Range", text)]) else {
                Issue.record("\(text) is refused")
                continue
            }
        }
        var lying = WebSeedResponseReader(offset: 100, length: 50)
        guard
            case .failed(.wrongRange) = lying.head(
                status: 206, headers: [("Content-Range", "bytes 100-149/1000"), ("Content-Length", "5000")])
        else {
            Issue.record("a Content-Length other than the range is refused")
            return
        }
    }

    @Test func aPartialBodyLongerThanItsRangeFails() throws {
        var reader = WebSeedResponseReader(offset: 0, length: 10)
        #expect(reader.head(status: 206, headers: [("Content-Range", "bytes 0-9/*")]) == .read)
        #expect(try reader.body(8) == 8)
        #expect(throws: WebSeedError.tooLong) { try reader.body(3) }
        #expect(!reader.reusable)
    }

    @Test func aWholeFileAnswerIsReadOnlyUpToTheRangeFromTheStart() throws {
        var reader = WebSeedResponseReader(offset: 0, length: 10)
        #expect(reader.head(status: 200, headers: [("Content-Length", "1000000")]) == .read)
        #expect(try reader.body(4) == 4)
        #expect(try reader.body(65536) == 6, "only the bytes asked for are taken")
        #expect(reader.isComplete && !reader.reusable)
        var endless = WebSeedResponseReader(offset: 0, length: 10)
        #expect(endless.head(status: 200, headers: []) == .read)
        #expect(try endless.body(1 << 20) == 10)
        var later = WebSeedResponseReader(offset: 5, length: 10)
        #expect(later.head(status: 200, headers: []) == .failed(.ignoresRange))
    }

    @Test func statusesAreRedirectsRetriesOrFailures() {
        var redirect = WebSeedResponseReader(offset: 0, length: 1)
        #expect(redirect.head(status: 302, headers: [("Location", "/elsewhere")]) == .redirect("/elsewhere"))
        var noLocation = WebSeedResponseReader(offset: 0, length: 1)
        guard case .failed(.badRedirect) = noLocation.head(status: 301, headers: []) else {
            Issue.record("a redirect without Location fails")
            return
        }
        var busy = WebSeedResponseReader(offset: 0, length: 1)
        #expect(
            busy.head(status: 503, headers: [("Retry-After", "30")])
                == .failed(.unavailable(status: 503, retryAfter: .seconds(30))))
        var dated = WebSeedResponseReader(offset: 0, length: 1)
        #expect(
            dated.head(status: 503, headers: [("Retry-After", "Fri, 31 Dec 1999 23:59:59 GMT")])
                == .failed(.unavailable(status: 503, retryAfter: nil)))
        var missing = WebSeedResponseReader(offset: 0, length: 1)
        #expect(missing.head(status: 404, headers: []) == .failed(.httpStatus(404)))
    }

    @Test func aResponseEndingEarlyIsTruncated() throws {
        var reader = WebSeedResponseReader(offset: 0, length: 10)
        #expect(reader.head(status: 206, headers: [("Content-Range", "bytes 0-9/10")]) == .read)
        #expect(try reader.body(9) == 9)
        #expect(throws: WebSeedError.truncated) { try reader.end(connectionClosed: true) }
        var headless = WebSeedResponseReader(offset: 0, length: 10)
        #expect(throws: WebSeedError.self) { try headless.body(1) }
    }

    @Test func theBackoffDoublesWithinItsBoundsAndHonoursRetryAfter() {
        let backoff = WebSeedBackoff()
        #expect(
            (1...8).map { backoff.delay(afterFailures: $0) }
                == [2, 4, 8, 16, 32, 64, 120, 120].map { Duration.seconds($0) })
        #expect(backoff.delay(afterFailures: 1, retryAfter: .seconds(45)) == .seconds(45))
        #expect(backoff.delay(afterFailures: 1, retryAfter: .seconds(100_000)) == .seconds(300))
        #expect(backoff.delay(afterFailures: 1, retryAfter: .zero) == .seconds(1))
        #expect(!backoff.givesUp(afterFailures: 7) && backoff.givesUp(afterFailures: 8))
    }

    @Test func aMagnetsWebSeedsBecomeTheFetchedTorrentsURLList() throws {
        let info = SessionCoreTests.fixture.metainfo.infoBytes
        let metainfo = try Metainfo(
            fetchedInfo: info, trackers: ["http://127.0.0.1:1/announce"], webSeeds: ["http://127.0.0.1:2/a b"])
        #expect(metainfo.webSeeds == ["http://127.0.0.1:2/a%20b"])
        #expect(metainfo.infoHashes == SessionCoreTests.fixture.metainfo.infoHashes)
        #expect(try Metainfo(fetchedInfo: info, trackers: []).webSeeds.isEmpty)
    }

    @Test func otherSchemesThanHTTPAndHTTPSAreRefusedWithAReason() {
        #expect(SessionCore.webSeedUnusable("https://h/x") == nil)
        #expect(SessionCore.webSeedUnusable("ftp://h/x")?.contains("unsupported") == true)
        #expect(SessionCore.webSeedUnusable("http://127.0.0.1:8080/x/") == nil)
    }
}
