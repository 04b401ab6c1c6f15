import Foundation
import NIOCore

/// Carries out one RPC request body: parses it, calls the method on the ``RPCBackend`` and writes the
/// answer, `{"arguments":{...},"result":"success","tag":N}`. Every failure is an answer whose `result`
/// says what went wrong (HTTP 200, as Transmission does); nothing is changed by a request that fails
/// its checks.
public struct RPCDispatcher: Sendable {
    private let backend: any RPCBackend
    private let settings: RPCSettings
    private let startedAt: Date
    /// `torrent-get`'s answers of the torrents no session works, for the next request of the same fields.
    private let answers = RPCAnswerCache()

    public init(backend: any RPCBackend, settings: RPCSettings, startedAt: Date = Date()) {
        self.backend = backend
        self.settings = settings
        self.startedAt = startedAt
    }

    /// The answer to `body`.
    public func respond(to body: [UInt8]) async -> [UInt8] {
        Array(await answer(to: body).readableBytesView)
    }

    /// The answer to `body`, in the buffer it is sent from. The body is let go once parsed (a
    /// `torrent-add`'s holds a whole `.torrent` in base64), and a `torrent-add`'s parsed request once
    /// the `.torrent`'s bytes are decoded from it, before the torrent is added.
    public func answer(to body: consuming [UInt8]) async -> ByteBuffer {
        var tag: JSONValue?
        do throws(RPCError) {
            var request = try JSONValue.parse(body)
            _ = consume body
            guard case .object = request else { throw RPCError.invalidJSON("the request is not a JSON object") }
            tag = request["tag"].flatMap { $0.intValue == nil ? nil : $0 }
            guard let method = request["method"]?.stringValue else {
                throw RPCError.invalidJSON("the request names no method")
            }
            var arguments = request["arguments"] ?? .object([:])
            guard case .object = arguments else { throw RPCError.invalidArgument("arguments must be an object") }
            // A `torrent-get` of many torrents writes into the buffer the last one was sent from.
            let large = method == "torrent-get"
            var json = large ? JSONWriter(reusing: answers.takeBuffer(), capacity: 4096) : JSONWriter(capacity: 4096)
            json.raw("{\"arguments\":{")
            if method == "torrent-add" {
                let add = try Self.addRequest(arguments)
                request = .null
                arguments = .null
                try await torrentAdd(add, into: &json)
            } else {
                try await call(method, arguments, into: &json)
            }
            json.raw("},\"result\":\"success\"")
            Self.writeTag(tag, into: &json)
            json.raw("}")
            if large { answers.keepBuffer(json.buffer) }
            return json.buffer
        } catch {
            return Self.failureAnswer(error.description, tag: tag).buffer
        }
    }

    /// An answer whose `result` is `message`.
    public static func failure(_ message: String, tag: JSONValue? = nil) -> [UInt8] {
        failureAnswer(message, tag: tag).bytes
    }

    private static func failureAnswer(_ message: String, tag: JSONValue?) -> JSONWriter {
        var json = JSONWriter()
        json.raw("{\"arguments\":{},\"result\":")
        json.string(message)
        writeTag(tag, into: &json)
        json.raw("}")
        return json
    }

    private static func writeTag(_ tag: JSONValue?, into json: inout JSONWriter) {
        guard let tag else { return }
        json.raw(",\"tag\":")
        json.write(tag)
    }

    private func call(_ method: String, _ arguments: JSONValue, into json: inout JSONWriter) async throws(RPCError) {
        switch method {
        case "torrent-get": try await torrentGet(arguments, into: &json)
        case "torrent-add": try await torrentAdd(try Self.addRequest(arguments), into: &json)
        case "torrent-start": try await backend.perform(.start, on: try await ids(arguments))
        case "torrent-start-now": try await backend.perform(.startNow, on: try await ids(arguments))
        case "torrent-stop": try await backend.perform(.stop, on: try await ids(arguments))
        case "torrent-verify": try await backend.perform(.verify, on: try await ids(arguments))
        case "torrent-reannounce": try await backend.perform(.reannounce, on: try await ids(arguments))
        case "torrent-remove":
            let delete = arguments["delete-local-data"]?.boolValue ?? false
            try await backend.remove(try await ids(arguments), deleteData: delete)
        case "torrent-set": try await torrentSet(arguments)
        case "torrent-set-location":
            guard let location = arguments["location"]?.stringValue, !location.isEmpty else {
                throw RPCError.invalidArgument("torrent-set-location needs a location")
            }
            var changes = RPCTorrentChanges()
            changes.location = location
            changes.moveData = arguments["move"]?.boolValue ?? false
            try await backend.change(try await ids(arguments), changes)
        case "queue-move-top": try await backend.move(try await ids(arguments), .top)
        case "queue-move-up": try await backend.move(try await ids(arguments), .up)
        case "queue-move-down": try await backend.move(try await ids(arguments), .down)
        case "queue-move-bottom": try await backend.move(try await ids(arguments), .bottom)
        case "session-get":
            let session = try await backend.session()
            RPCSessionWriter.write(session, settings: settings, into: &json)
        case "session-set": try await sessionSet(arguments)
        case "session-stats":
            let statistics = try await backend.statistics()
            RPCSessionWriter.write(statistics, startedAt: startedAt, into: &json)
        case "free-space":
            guard let path = arguments["path"]?.stringValue, path.hasPrefix("/") else {
                throw RPCError.invalidArgument("free-space needs an absolute path")
            }
            let space = try await backend.freeSpace(at: path)
            json.key("path")
            json.string(path)
            json.raw(",\"size-bytes\":")
            json.int(space.free)
            json.raw(",\"total_size\":")
            json.int(space.total)
        case "port-test":
            throw RPCError.unsupported(
                "port-test: btq does not ask an outside server whether its port is reachable (it sends nothing "
                    + "to the internet on its own); this says nothing about the port")
        case "blocklist-update":
            throw RPCError.unsupported("blocklist-update: btq has no blocklist")
        case "torrent-rename-path":
            throw RPCError.unsupported("torrent-rename-path: btq does not rename a torrent's files")
        case "session-close":
            throw RPCError.unsupported("session-close: stop btq run with Ctrl-C or SIGTERM")
        default:
            throw RPCError.unknownMethod(method)
        }
    }

    // MARK: torrent-get

    private func torrentGet(_ arguments: JSONValue, into json: inout JSONWriter) async throws(RPCError) {
        guard let names = arguments["fields"]?.arrayValue else {
            throw RPCError.invalidArgument("torrent-get needs a list of fields")
        }
        guard names.count <= 1024 else { throw RPCError.invalidArgument("too many fields (at most 1024)") }
        let fields = RPCTorrentField.parse(names.compactMap(\.stringValue))
        let table = arguments["format"]?.stringValue == "table"
        let all = try await backend.torrents()
        let torrents: [RPCTorrent]
        let recentlyActive = arguments["ids"]?.stringValue == "recently-active"
        if recentlyActive {
            let since = Int64(Date().timeIntervalSince1970) - 60
            torrents = all.filter { $0.isActive || $0.activityDate >= since }
        } else {
            let wanted = Set(try await ids(arguments, in: all))
            torrents = arguments["ids"] == nil ? all : all.filter { wanted.contains($0.id) }
        }
        let needs = fields.reduce(into: RPCDetailNeeds()) { $0.formUnion($1.detailNeeds) }
        let details = needs.isEmpty ? [:] : try await backend.details(of: torrents.map(\.id), needs: needs)
        let writer = RPCTorrentWriter(fields: fields)
        let everyTorrent = arguments["ids"] == nil
        answers.withEntries(for: RPCAnswerCache.Shape(fields: fields, table: table)) { entries in
            // Sized for the answer at once (from the last one of these fields): no copy as it grows.
            json.reserve(torrents.count * entries.bytesPerTorrent + torrents.count * entries.bytesPerTorrent / 8)
            let start = json.count
            var kept: RPCAnswerCache.Entries? = entries
            entries = RPCAnswerCache.Entries()  // `kept` holds the only reference while it changes
            writer.write(torrents, details: details, table: table, into: &json, kept: &kept)
            entries = kept ?? RPCAnswerCache.Entries()
            if everyTorrent { entries.keepOnly(Set(torrents.lazy.map(\.id))) }
            if !torrents.isEmpty { entries.bytesPerTorrent = (json.count - start) / torrents.count }
        }
        if recentlyActive { json.raw(",\"removed\":[]") }
    }

    // MARK: torrent-add

    /// What a `torrent-add`'s arguments ask.
    private static func addRequest(_ arguments: JSONValue) throws(RPCError) -> RPCAddRequest {
        var request: RPCAddRequest
        if let encoded = arguments["metainfo"]?.stringValue {
            guard let bytes = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw RPCError.invalidArgument("metainfo is not base64")
            }
            request = RPCAddRequest(source: .metainfo(Array(bytes)))
        } else if let filename = arguments["filename"]?.stringValue, !filename.isEmpty {
            let lower = filename.lowercased()
            if lower.hasPrefix("magnet:") {
                request = RPCAddRequest(source: .magnet(filename))
            } else if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
                throw RPCError.unsupported(
                    "torrent-add: btq does not fetch .torrent files from URLs; send the file's bytes as metainfo")
            } else {
                request = RPCAddRequest(source: .path(filename))
            }
        } else {
            throw RPCError.invalidArgument("torrent-add needs a filename or metainfo")
        }
        request.downloadDir = arguments["download-dir"]?.stringValue
        request.paused = arguments["paused"]?.boolValue ?? false
        request.priorities = try Self.priorities(arguments)
        return request
    }

    private func torrentAdd(_ request: RPCAddRequest, into json: inout JSONWriter) async throws(RPCError) {
        let added = try await backend.add(request)
        json.key(added.isDuplicate ? "torrent-duplicate" : "torrent-added")
        json.raw("{\"hashString\":")
        json.string(added.hashString)
        json.raw(",\"id\":")
        json.int(added.id)
        json.raw(",\"name\":")
        json.string(added.name)
        json.raw("}")
    }

    /// The file priorities `files-wanted`, `files-unwanted` and `priority-high/normal/low` name, on btq's
    /// scale (a file both unwanted and given a priority is unwanted).
    static func priorities(_ arguments: JSONValue) throws(RPCError) -> [Int: Int] {
        var result: [Int: Int] = [:]
        for (key, priority) in [("priority-low", 1), ("priority-normal", 4), ("priority-high", 7), ("files-wanted", 4)]
        {
            for index in try fileIndexes(arguments[key], key) where result[index] == nil || key != "files-wanted" {
                result[index] = priority
            }
        }
        for index in try fileIndexes(arguments["files-unwanted"], "files-unwanted") { result[index] = 0 }
        return result
    }

    private static func fileIndexes(_ value: JSONValue?, _ key: String) throws(RPCError) -> [Int] {
        guard let value else { return [] }
        guard let items = value.arrayValue, items.count <= 250_000 else {
            throw RPCError.invalidArgument("\(key) must be a list of file indexes")
        }
        var indexes: [Int] = []
        for item in items {
            guard let index = item.intValue, index >= 0, index < 250_000 else {
                throw RPCError.invalidArgument("\(key): not a file index")
            }
            indexes.append(Int(index))
        }
        return indexes
    }

    // MARK: torrent-set, session-set

    private func torrentSet(_ arguments: JSONValue) async throws(RPCError) {
        var changes = RPCTorrentChanges()
        changes.priorities = try Self.priorities(arguments)
        if let limited = arguments["downloadLimited"]?.boolValue, !limited { changes.downloadLimit = 0 }
        if let limit = arguments["downloadLimit"]?.intValue, arguments["downloadLimited"]?.boolValue != false {
            changes.downloadLimit = max(0, limit) * 1024
        }
        if let limited = arguments["uploadLimited"]?.boolValue, !limited { changes.uploadLimit = 0 }
        if let limit = arguments["uploadLimit"]?.intValue, arguments["uploadLimited"]?.boolValue != false {
            changes.uploadLimit = max(0, limit) * 1024
        }
        if let location = arguments["location"]?.stringValue, !location.isEmpty { changes.location = location }
        try await backend.change(try await ids(arguments), changes)
    }

    private func sessionSet(_ arguments: JSONValue) async throws(RPCError) {
        guard case .object(let members) = arguments else { return }
        let changes = try RPCSessionWriter.changes(members)
        let refused = try await backend.changeSession(changes)
        var notes: [String] = []
        if !refused.isEmpty { notes.append("btq has no setting for \(refused.sorted().joined(separator: ", "))") }
        // The rate, seeding and queue settings are followed by the running daemon within a second; the
        // listening port and the DHT are set up when `btq run` starts, which the answer says.
        if members["peer-port"] != nil || members["dht-enabled"] != nil {
            let running = try await backend.session()
            if let port = members["peer-port"]?.intValue, port != running.peerPort {
                notes.append(
                    "peer-port \(port) is stored, but btq run listens on it only after a restart (on \(running.peerPort) now)"
                )
            }
            if let on = members["dht-enabled"]?.boolValue, on != running.dhtEnabled {
                notes.append("dht-enabled is stored, but the DHT \(on ? "starts" : "stops") only when btq run restarts")
            }
        }
        if !notes.isEmpty {
            throw RPCError.unsupported("session-set: \(notes.joined(separator: "; ")); the others were set")
        }
    }

    // MARK: ids

    private func ids(_ arguments: JSONValue) async throws(RPCError) -> [Int64] {
        try await ids(arguments, in: nil)
    }

    /// The torrents `ids` names: absent for all, a number, a hash, `recently-active`, or a list of numbers
    /// and hashes. An unknown id or hash is skipped, as Transmission does.
    private func ids(_ arguments: JSONValue, in known: [RPCTorrent]?) async throws(RPCError) -> [Int64] {
        let value = arguments["ids"]
        let torrents: [RPCTorrent]
        if let known {
            torrents = known
        } else {
            torrents = try await backend.torrents()
        }
        guard let value else { return torrents.map(\.id) }
        let items: [JSONValue]
        switch value {
        case .array(let list): items = list
        case .string("recently-active"):
            let since = Int64(Date().timeIntervalSince1970) - 60
            return torrents.filter { $0.isActive || $0.activityDate >= since }.map(\.id)
        default: items = [value]
        }
        guard items.count <= settings.maximumIds else {
            throw RPCError.invalidArgument("too many ids (at most \(settings.maximumIds))")
        }
        var byHash: [String: Int64] = [:]
        var known = Set<Int64>()
        for torrent in torrents {
            byHash[torrent.hashString] = torrent.id
            known.insert(torrent.id)
        }
        var result: [Int64] = []
        for item in items {
            if let number = item.intValue {
                if known.contains(number) { result.append(number) }
            } else if let text = item.stringValue {
                if let number = Int64(text), known.contains(number) {
                    result.append(number)
                } else if let id = byHash[text.lowercased()] {
                    result.append(id)
                }
            } else {
                throw RPCError.invalidArgument("ids must be numbers or hashes")
            }
        }
        return result
    }
}
