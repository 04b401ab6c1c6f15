import Foundation
import Synchronization
import Testing

@testable import Engine

/// The JSON side of the RPC: requests parsed, methods routed to the backend with the right arguments,
/// answers in Transmission's shapes, and every bad request answered with a `result` that says why and
/// no change.
@Suite struct RPCDispatcherTests {
    /// A backend that records what it was asked.
    final class RecordingBackend: RPCBackend {
        let calls = Mutex<[String]>([])
        /// The `details` calls: the ids asked and what was needed.
        let detailCalls = Mutex<[([Int64], RPCDetailNeeds)]>([])
        let list: [RPCTorrent]

        init(_ list: [RPCTorrent]) { self.list = list }

        private func note(_ call: String) { calls.withLock { $0.append(call) } }
        func torrents() async throws(RPCError) -> [RPCTorrent] { list }
        func details(of ids: [Int64], needs: RPCDetailNeeds) async throws(RPCError) -> [Int64: RPCTorrentDetails] {
            detailCalls.withLock { $0.append((ids, needs)) }
            let details = RPCTorrentDetails(
                files: [
                    .init(name: "t/a", length: 10, bytesCompleted: 10, priority: 4),
                    .init(name: "t/b", length: 5, bytesCompleted: 0, priority: 0),
                    .init(name: "t/c", length: 5, bytesCompleted: 0, priority: 7),
                ])
            return Dictionary(uniqueKeysWithValues: ids.map { ($0, details) })
        }
        func add(_ request: RPCAddRequest) async throws(RPCError) -> RPCAdded {
            note(
                "add \(request.source) paused=\(request.paused) dir=\(request.downloadDir ?? "-") \(request.priorities.sorted { $0.key < $1.key })"
            )
            return RPCAdded(id: 9, name: "new", hashString: String(repeating: "c", count: 40), isDuplicate: false)
        }
        func perform(_ action: RPCAction, on ids: [Int64]) async throws(RPCError) { note("\(action) \(ids)") }
        func remove(_ ids: [Int64], deleteData: Bool) async throws(RPCError) { note("remove \(ids) \(deleteData)") }
        func change(_ ids: [Int64], _ changes: RPCTorrentChanges) async throws(RPCError) {
            note("change \(ids) \(changes.priorities.sorted { $0.key < $1.key }) \(changes.downloadLimit ?? -1)")
        }
        func move(_ ids: [Int64], _ move: RPCQueueMove) async throws(RPCError) { note("move \(ids) \(move)") }
        func session() async throws(RPCError) -> RPCSession {
            RPCSession(
                downloadDir: "/d", peerPort: 6881, downloadLimit: 2048, uploadLimit: 0, seedRatioLimit: 2,
                seedIdleMinutes: 0, downloadQueueSize: 3, seedQueueSize: 3, dhtEnabled: true, configDir: "/c",
                rpcPort: 9091)
        }
        func changeSession(_ changes: RPCSessionChanges) async throws(RPCError) -> [String] {
            note("session \(changes.settings.sorted { $0.key < $1.key })")
            return changes.unsupported
        }
        func statistics() async throws(RPCError) -> RPCStatistics {
            var stats = RPCStatistics()
            stats.torrentCount = 2
            stats.sessionDownloaded = 100
            return stats
        }
        func freeSpace(at path: String) async throws(RPCError) -> (free: Int64, total: Int64) { (1, 2) }
    }

    static func torrent(_ id: Int64, _ state: RPCTorrentState, done: Int64 = 0) -> RPCTorrent {
        RPCTorrent(
            id: id, hashString: String(repeating: id == 1 ? "a" : "b", count: 40), name: "t\(id) \"q\"", state: state,
            totalSize: 100, sizeWhenDone: 100, haveValid: done, downloadedEver: 50, uploadedEver: 25, corruptEver: 0,
            addedDate: 1_700_000_000, downloadDir: "/d", queuePosition: Int(id), isPrivate: false, isMagnet: false,
            comment: "", creator: "", dateCreated: 0, pieceCount: 4, pieceSize: 25, fileCount: 3, magnetLink: "")
    }

    static let backend = RecordingBackend([torrent(1, .downloading, done: 50), torrent(2, .queued, done: 100)])

    func call(_ text: String, _ backend: RecordingBackend = RPCDispatcherTests.backend) async throws -> [String: Any] {
        let answer = await RPCDispatcher(backend: backend, settings: RPCSettings()).respond(to: Array(text.utf8))
        return try #require(try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any])
    }

    @Test func torrentGetAnswersTheAskedFieldsWithTransmissionsStatusNumbers() async throws {
        let answer = try await call(
            #"{"method":"torrent-get","arguments":{"fields":["id","name","status","percentDone","leftUntilDone","hashString","nonsense","uploadRatio","files","fileStats","priorities","wanted"]},"tag":7}"#
        )
        #expect(answer["result"] as? String == "success")
        #expect(answer["tag"] as? Int == 7)
        let torrents = try #require((answer["arguments"] as? [String: Any])?["torrents"] as? [[String: Any]])
        #expect(torrents.count == 2)
        #expect(torrents[0]["id"] as? Int == 1)
        #expect(torrents[0]["name"] as? String == "t1 \"q\"")
        #expect(torrents[0]["status"] as? Int == 4, "downloading")
        #expect(torrents[1]["status"] as? Int == 5, "a queued complete torrent waits to seed")
        #expect(torrents[0]["percentDone"] as? Double == 0.5)
        #expect(torrents[0]["leftUntilDone"] as? Int == 50)
        #expect(torrents[0]["uploadRatio"] as? Double == 0.5)
        #expect(torrents[0]["nonsense"] == nil, "unknown fields are left out")
        #expect(torrents[0]["priorities"] as? [Int] == [0, 0, 1])
        #expect(torrents[0]["wanted"] as? [Int] == [1, 0, 1])
        let files = try #require(torrents[0]["files"] as? [[String: Any]])
        #expect(files.map { $0["name"] as? String } == ["t/a", "t/b", "t/c"])
        #expect((torrents[0]["fileStats"] as? [[String: Any]])?[1]["wanted"] as? Bool == false)
    }

    /// The details of every torrent asked come in one call, with only what the fields need; a request
    /// without such fields asks for none.
    @Test func torrentGetAsksTheDetailsOnceForAllTorrentsWithWhatTheFieldsNeed() async throws {
        let backend = RecordingBackend([
            Self.torrent(1, .downloading), Self.torrent(2, .queued), Self.torrent(3, .paused),
        ])
        _ = try await call(#"{"method":"torrent-get","arguments":{"fields":["id","name","rateDownload"]}}"#, backend)
        #expect(backend.detailCalls.withLock { $0 }.isEmpty)
        _ = try await call(
            #"{"method":"torrent-get","arguments":{"fields":["id","fileStats","trackerStats"]}}"#, backend)
        _ = try await call(#"{"method":"torrent-get","arguments":{"fields":["peers"],"ids":[3,1]}}"#, backend)
        let calls = backend.detailCalls.withLock { $0 }
        #expect(calls.count == 2)
        #expect(calls.first?.0 == [1, 2, 3])
        #expect(calls.first?.1 == [.files, .trackers])
        #expect(calls.last?.0 == [1, 3])
        #expect(calls.last?.1 == .peers)
    }

    @Test func idsSelectByNumberHashAndTableFormatHasAHeaderRow() async throws {
        let answer = try await call(
            #"{"method":"torrent-get","arguments":{"fields":["id","status"],"ids":["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",77],"format":"table"}}"#
        )
        let rows = try #require((answer["arguments"] as? [String: Any])?["torrents"] as? [[Any]])
        #expect(rows.count == 2)
        #expect(rows[0] as? [String] == ["id", "status"])
        #expect(rows[1] as? [Int] == [2, 5])
        let one = try await call(#"{"method":"torrent-get","arguments":{"fields":["id"],"ids":1}}"#)
        #expect(
            ((one["arguments"] as? [String: Any])?["torrents"] as? [[String: Any]])?.map { $0["id"] as? Int } == [1])
    }

    @Test(arguments: [
        ("paused", 0), ("completed", 0), ("error", 0), ("checking", 2), ("metadata", 4), ("seeding", 6),
    ])
    func statusNumbersFollowBtqsStates(_ name: String, _ status: Int) {
        let state: RPCTorrentState =
            switch name {
            case "paused": .paused
            case "completed": .completed
            case "error": .error
            case "checking": .checking
            case "metadata": .metadata
            default: .seeding
            }
        #expect(RPCTorrentStatus(state, isDone: false).rawValue == status)
    }

    @Test func actionsReachTheBackendWithTheirIds() async throws {
        let backend = RecordingBackend([Self.torrent(1, .paused), Self.torrent(2, .queued)])
        for method in ["torrent-start", "torrent-stop", "torrent-verify", "torrent-start-now"] {
            let answer = try await call(#"{"method":"\#(method)","arguments":{"ids":[2]}}"#, backend)
            #expect(answer["result"] as? String == "success")
        }
        _ = try await call(#"{"method":"torrent-remove","arguments":{"ids":[1],"delete-local-data":true}}"#, backend)
        _ = try await call(
            #"{"method":"torrent-set","arguments":{"ids":[1],"files-unwanted":[0],"priority-high":[2],"downloadLimit":100}}"#,
            backend)
        _ = try await call(#"{"method":"queue-move-top","arguments":{"ids":[2]}}"#, backend)
        _ = try await call(#"{"method":"torrent-stop"}"#, backend)
        #expect(
            backend.calls.withLock { $0 } == [
                "start [2]", "stop [2]", "verify [2]", "startNow [2]", "remove [1] true",
                "change [1] [(key: 0, value: 0), (key: 2, value: 7)] 102400", "move [2] top", "stop [1, 2]",
            ])
    }

    @Test func torrentAddTakesMetainfoFilenameOrMagnetWithItsOptions() async throws {
        let backend = RecordingBackend([])
        let metainfo = Data("d4:infod4:name1:xee".utf8).base64EncodedString()
        let added = try await call(
            #"{"method":"torrent-add","arguments":{"metainfo":"\#(metainfo)","paused":true,"download-dir":"/x","files-unwanted":[1]}}"#,
            backend)
        let result = try #require((added["arguments"] as? [String: Any])?["torrent-added"] as? [String: Any])
        #expect(result["id"] as? Int == 9)
        _ = try await call(#"{"method":"torrent-add","arguments":{"filename":"magnet:?xt=urn:btih:abc"}}"#, backend)
        _ = try await call(#"{"method":"torrent-add","arguments":{"filename":"/t/a.torrent"}}"#, backend)
        let url = try await call(#"{"method":"torrent-add","arguments":{"filename":"http://x/a.torrent"}}"#, backend)
        #expect((url["result"] as? String)?.contains("URL") == true)
        let calls = backend.calls.withLock { $0 }
        #expect(calls.count == 3)
        #expect(calls[0].hasPrefix("add metainfo(") && calls[0].contains("paused=true dir=/x [(key: 1, value: 0)]"))
        #expect(calls[1] == "add magnet(\"magnet:?xt=urn:btih:abc\") paused=false dir=- []")
        #expect(calls[2] == "add path(\"/t/a.torrent\") paused=false dir=- []")
    }

    @Test(arguments: [
        ("{", "not JSON"), ("[1,2]", "not a JSON object"), (#"{"arguments":{}}"#, "names no method"),
        (#"{"method":"torrent-explode"}"#, "method name not recognized"),
        (#"{"method":"torrent-get","arguments":{}}"#, "list of fields"),
        (#"{"method":"torrent-add","arguments":{"metainfo":"***"}}"#, "not base64"),
        (#"{"method":"torrent-stop","arguments":{"ids":[{"a":1}]}}"#, "numbers or hashes"),
        (#"{"method":"port-test"}"#, "port-test"),
        (#"{"method":"torrent-get","arguments":[]}"#, "must be an object"),
        (String(repeating: "[", count: 40) + String(repeating: "]", count: 40), "deeper"),
    ])
    func badRequestsAreAnsweredWithWhyAndChangeNothing(_ body: String, _ expected: String) async throws {
        let backend = RecordingBackend([Self.torrent(1, .paused)])
        let answer = try await call(body, backend)
        let result = try #require(answer["result"] as? String)
        #expect(result != "success")
        #expect(result.contains(expected), "\(result)")
        #expect(backend.calls.withLock { $0 }.isEmpty)
    }

    @Test func sessionMethodsSpeakTransmissionsNames() async throws {
        let backend = RecordingBackend([])
        let session = try await call(#"{"method":"session-get"}"#, backend)
        let arguments = try #require(session["arguments"] as? [String: Any])
        #expect(arguments["rpc-version"] as? Int == RPCSessionWriter.rpcVersion)
        #expect(arguments["speed-limit-down"] as? Int == 2)
        #expect(arguments["speed-limit-down-enabled"] as? Bool == true)
        #expect(arguments["download-dir"] as? String == "/d")
        let stats = try await call(#"{"method":"session-stats"}"#, backend)
        let current = (stats["arguments"] as? [String: Any])?["current-stats"] as? [String: Any]
        #expect(current?["downloadedBytes"] as? Int == 100)
        let set = try await call(
            #"{"method":"session-set","arguments":{"speed-limit-up":10,"speed-limit-up-enabled":true,"seedRatioLimit":1.5,"seedRatioLimited":true,"download-queue-size":2}}"#,
            backend)
        #expect(set["result"] as? String == "success")
        let unsupported = try await call(#"{"method":"session-set","arguments":{"alt-speed-up":10}}"#, backend)
        #expect((unsupported["result"] as? String)?.contains("alt-speed-up") == true)
        #expect(
            backend.calls.withLock { $0 }.first
                == #"session [(key: "max_active_downloads", value: "2"), (key: "seed_ratio_limit", value: "1.5"), (key: "upload_rate_limit", value: "10240")]"#
        )
    }

    /// The listening port and the DHT are set up when `btq run` starts: a change is stored and the answer
    /// says it waits for a restart; the same values as the running ones are simply accepted.
    @Test func sessionSetSaysWhatWaitsForARestart() async throws {
        let backend = RecordingBackend([])
        let same = try await call(
            #"{"method":"session-set","arguments":{"peer-port":6881,"dht-enabled":true}}"#, backend)
        #expect(same["result"] as? String == "success")
        let port = try await call(#"{"method":"session-set","arguments":{"peer-port":7000}}"#, backend)
        let result = try #require(port["result"] as? String)
        #expect(result.contains("peer-port 7000 is stored") && result.contains("restart"), "\(result)")
        let dht = try await call(#"{"method":"session-set","arguments":{"dht-enabled":false}}"#, backend)
        #expect((dht["result"] as? String)?.contains("the DHT stops only when btq run restarts") == true)
        // Stored all the same, for the next start.
        #expect(backend.calls.withLock { $0 }.contains(#"session [(key: "listen_port", value: "7000")]"#))
    }

    /// Transmission's queue switches are btq's slot settings: off is unlimited (-1), on takes the size
    /// given, or asks the store for the default back when no size comes with it; `encryption` maps both ways.
    @Test func queueSwitchesAndEncryptionMapToBtqsSettings() throws {
        let off = try RPCSessionWriter.changes(["download-queue-enabled": false, "seed-queue-enabled": false])
        #expect(off.settings == ["max_active_downloads": "-1", "max_active_seeds": "-1"])
        let sized = try RPCSessionWriter.changes(["download-queue-enabled": true, "download-queue-size": 0])
        #expect(sized.settings == ["max_active_downloads": "1"] && sized.limitedAgain.isEmpty)
        let on = try RPCSessionWriter.changes(["seed-queue-enabled": true])
        #expect(on.settings.isEmpty && on.limitedAgain == ["max_active_seeds"])
        #expect(throws: RPCError.self) { try RPCSessionWriter.changes(["seed-queue-enabled": "yes"]) }
        #expect(try RPCSessionWriter.changes(["encryption": "required"]).settings == ["encryption": "require"])
        #expect(try RPCSessionWriter.changes(["encryption": "preferred"]).settings == ["encryption": "prefer"])
        let tolerated = try RPCSessionWriter.changes(["encryption": "tolerated"])
        #expect(tolerated.settings.isEmpty && tolerated.unsupported.count == 1)
        #expect(throws: RPCError.self) { try RPCSessionWriter.changes(["encryption": "always"]) }

        var session = RPCSession(
            downloadDir: "/d", peerPort: 1, downloadLimit: 0, uploadLimit: 0, seedRatioLimit: 0, seedIdleMinutes: 0,
            downloadQueueSize: TransferSettings.unlimitedSlots, seedQueueSize: 5, dhtEnabled: false, configDir: "/c",
            rpcPort: 2)
        session.encryption = "required"
        var json = JSONWriter()
        json.raw("{")
        RPCSessionWriter.write(session, settings: RPCSettings(), into: &json)
        json.raw("}")
        let written = try #require(try JSONSerialization.jsonObject(with: Data(json.bytes)) as? [String: Any])
        #expect(written["download-queue-enabled"] as? Bool == false)
        #expect(written["download-queue-size"] as? Int == 3)
        #expect(written["seed-queue-enabled"] as? Bool == true)
        #expect(written["seed-queue-size"] as? Int == 5)
        #expect(written["encryption"] as? String == "required")
    }

    @Test func theWriterEscapesWhatJSONRequires() throws {
        let value: JSONValue = .object(["a\"b": .array([.string("x\n\u{1}y\\"), .int(-3), .double(0.25), .null, true])])
        let text = String(decoding: value.bytes, as: UTF8.self)
        #expect(text == #"{"a\"b":["x\n\u0001y\\",-3,0.25,null,true]}"#)
        #expect(try JSONValue.parse(value.bytes) == value)
    }

    @Test func metricsAreInPrometheusTextFormat() {
        var stats = RPCStatistics()
        stats.sessionDownloaded = 1234
        stats.torrentsByState = ["seeding": 2]
        let text = String(decoding: RPCMetrics.text(stats), as: UTF8.self)
        #expect(text.contains("# TYPE btq_downloaded_bytes_total counter\nbtq_downloaded_bytes_total 1234\n"))
        #expect(text.contains("btq_torrents{state=\"seeding\"} 2\n"))
        #expect(text.contains("btq_torrents{state=\"paused\"} 0\n"))
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count == 2, "\(line)")
        }
    }

    /// The journal's latencies are histograms: cumulative buckets, +Inf, sum and count.
    @Test func journalLatenciesAreHistograms() {
        var stats = RPCStatistics()
        stats.journalCommits.record(.microseconds(300))
        stats.journalCommits.record(.milliseconds(20))
        stats.journalCommits.record(.seconds(30))
        stats.checkpoints.record(.milliseconds(700))
        let text = String(decoding: RPCMetrics.text(stats), as: UTF8.self)
        #expect(text.contains("# TYPE btq_journal_commit_seconds histogram\n"))
        #expect(text.contains("btq_journal_commit_seconds_bucket{le=\"0.001\"} 1\n"))
        #expect(text.contains("btq_journal_commit_seconds_bucket{le=\"0.01\"} 1\n"))
        #expect(text.contains("btq_journal_commit_seconds_bucket{le=\"0.025\"} 2\n"))
        #expect(text.contains("btq_journal_commit_seconds_bucket{le=\"10.0\"} 2\n"))
        #expect(text.contains("btq_journal_commit_seconds_bucket{le=\"+Inf\"} 3\n"))
        #expect(text.contains("btq_journal_commit_seconds_count 3\n"))
        let sum = text.split(separator: "\n").first { $0.hasPrefix("btq_journal_commit_seconds_sum ") }
        #expect(abs((sum?.split(separator: " ").last.flatMap { Double($0) } ?? 0) - 30.0203) < 1e-9)
        #expect(text.contains("btq_checkpoint_seconds_bucket{le=\"0.5\"} 0\n"))
        #expect(text.contains("btq_checkpoint_seconds_bucket{le=\"1.0\"} 1\n"))
    }

    @Test func theWriterWritesIntegersAsTheirDigits() {
        var json = JSONWriter()
        for value: Int64 in [0, 7, 10, -1, -10, 1_234_567_890, .max, .min] {
            json.int(value)
            json.raw(" ")
        }
        #expect(
            String(decoding: json.bytes, as: UTF8.self)
                == "0 7 10 -1 -10 1234567890 9223372036854775807 -9223372036854775808 ")
    }
}
