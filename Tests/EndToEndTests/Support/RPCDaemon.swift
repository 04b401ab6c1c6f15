import Engine
import Foundation

/// A `btq run --rpc` of a test, with its RPC port and password, and the clients that talk to it:
/// `transmission-remote` from the distribution, and raw HTTP requests for what no client sends.
struct RPCDaemon: Sendable {
    static let user = "admin"
    static let password = "s3cret pass"
    static let transmissionRemote = "/usr/bin/transmission-remote"

    let btq: Btq
    let process: ChildProcess
    let port: UInt16

    /// Sets the RPC user and password and starts `btq run --rpc` on free ports, waiting until the RPC
    /// port accepts connections; with `settingPort`, the RPC port comes from the setting `rpc_port` (set
    /// to it) rather than `--rpc-port`.
    static func start(_ btq: Btq, extra: [String] = [], settingPort: UInt16? = nil) async throws -> RPCDaemon {
        try await btq.run(["config", "set", "rpc_username", user])
        try await btq.run(["config", "set", "rpc_password", password])
        let peerPort = try FreePort.next()
        let port = try settingPort ?? FreePort.next()
        var arguments = ["run", "--port", "\(peerPort)", "--rpc"]
        if let settingPort {
            try await btq.run(["config", "set", "rpc_port", "\(settingPort)"])
        } else {
            arguments += ["--rpc-port", "\(port)"]
        }
        let process = try btq.scenario.start(
            "btq run", Btq.executable, arguments + extra, environment: ["BTQ_DB": btq.database.path])
        try await process.waitUntil("the RPC server accepts connections", timeout: E2E.startTimeout) {
            FreePort.isAccepting(port)
        }
        return RPCDaemon(btq: btq, process: process, port: port)
    }

    /// The distribution's Chromium, for the web interface's tests.
    static let chromium = "/usr/bin/chromium"

    /// For a test of the web interface (Chromium and the distribution's web files required): a btq
    /// seeding one file of `size` bytes named `name`, served by `btq run --rpc` once the file is checked.
    static func startForTheWebInterface(
        _ scenario: Scenario, seeding name: String, size: Int
    ) async throws -> (RPCDaemon, Btq, TestTorrent) {
        try scenario.require(FileManager.default.isExecutableFile(atPath: chromium), "chromium is installed")
        try scenario.require(
            RPCWebFiles(folder: RPCSettings.distributionWebDirectory) != nil,
            "the Transmission web interface is installed (transmission-common)")
        let content = try TestContent.singleFile(name: name, size: size, in: scenario.path("data"))
        let btq = try Btq(scenario)
        let torrent = try await btq.create(content, trackers: [])
        try await btq.run(["add", torrent.url.path, "--dir", content.root.path])
        let daemon = try await start(btq)
        try await daemon.process.waitUntil("the torrent is checked and seeds", timeout: E2E.startTimeout) {
            try btq.record(of: torrent).bytesDone == torrent.metainfo.totalLength
        }
        return (daemon, btq, torrent)
    }

    /// Runs `transmission-remote 127.0.0.1:PORT -n user:password ARGUMENTS`; throws unless it exits 0.
    @discardableResult
    func remote(_ arguments: [String], auth: Bool = true) async throws -> String {
        let result = try await remoteResult(arguments, auth: auth)
        guard result.status == 0 else {
            throw HarnessError(
                "`transmission-remote \(arguments.joined(separator: " "))` exited with \(result.status):\n\(result.output)"
            )
        }
        return result.output
    }

    /// Like ``remote(_:auth:)``, giving back its status instead of throwing.
    func remoteResult(_ arguments: [String], auth: Bool = true) async throws -> (status: Int32, output: String) {
        let credentials = auth ? ["-n", "\(Self.user):\(Self.password)"] : []
        return try await btq.scenario.runTool(
            "transmission-remote", Self.transmissionRemote, ["127.0.0.1:\(port)"] + credentials + arguments,
            timeout: .seconds(30), quiet: true)
    }

    /// One raw HTTP request (`Connection: close`); the status and the whole response as text.
    func request(
        _ method: String = "POST", path: String = "/transmission/rpc", host: String? = nil, auth: Bool = true,
        session: String? = nil, body: String = "", headers: [String] = []
    ) throws -> (status: Int, text: String) {
        var lines = ["\(method) \(path) HTTP/1.1", "Host: \(host ?? "127.0.0.1:\(port)")", "Connection: close"]
        if auth {
            lines.append("Authorization: Basic " + Data("\(Self.user):\(Self.password)".utf8).base64EncodedString())
        }
        if let session { lines.append("X-Transmission-Session-Id: \(session)") }
        if method == "POST" { lines.append("Content-Length: \(body.utf8.count)") }
        lines += headers
        let connection = try LoopbackConnection(port: port, timeout: .seconds(10))
        try connection.send(Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8))
        let text = String(decoding: connection.readToEnd(limit: 64 << 20), as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, text)
    }

    /// The session id the server hands out (from a 409).
    func sessionID() throws -> String {
        let answer = try request(body: "{}")
        for line in answer.text.split(separator: "\r\n") where line.lowercased().hasPrefix("x-transmission-session-id:")
        {
            return line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
        }
        throw HarnessError("no session id in:\n\(answer.text)")
    }

    /// The body of a successful RPC call's answer, parsed.
    func call(_ body: String) throws -> [String: Any] {
        let answer = try request(session: try sessionID(), body: body)
        guard answer.status == 200, let start = answer.text.range(of: "\r\n\r\n") else {
            throw HarnessError("RPC answered \(answer.status):\n\(answer.text)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(answer.text[start.upperBound...].utf8))
        return json as? [String: Any] ?? [:]
    }

    /// `GET /metrics`, checked against Prometheus' text format by a small Python parser (every sample
    /// line `name{labels} value` of a metric announced by `# HELP` and `# TYPE` before it, a
    /// histogram's as `_bucket`, `_sum` and `_count`); the samples
    /// by name with their labels (`btq_torrents{state="seeding"}`).
    func metrics() async throws -> [String: Double] {
        let answer = try request("GET", path: "/metrics")
        guard answer.status == 200, let start = answer.text.range(of: "\r\n\r\n") else {
            throw HarnessError("GET /metrics answered \(answer.status):\n\(answer.text)")
        }
        let file = btq.scenario.path("metrics-\(UUID().uuidString.prefix(8)).txt")
        try Data(answer.text[start.upperBound...].utf8).write(to: file)
        let checked = try await btq.scenario.runTool(
            "metrics check", E2E.python, ["-c", Self.metricsCheck, file.path], quiet: true)
        guard checked.status == 0 else { throw HarnessError("not Prometheus text format: \(checked.output)") }
        var samples: [String: Double] = [:]
        for line in checked.output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { samples[String(parts[0])] = value }
        }
        return samples
    }

    private static let metricsCheck = #"""
        import re, sys
        text = open(sys.argv[1]).read()
        assert text.endswith("\n"), "ends with a newline"
        name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
        sample = re.compile(r"^(" + name + r")(\{" + name[:-1] + r"*=\"[^\"\\]*\"(," + name + r"=\"[^\"\\]*\")*\})? (-?[0-9.e+]+|NaN|\+Inf|-Inf)$")
        helped, typed = set(), {}
        for line in text.splitlines():
            if line.startswith("# HELP "):
                helped.add(line.split(" ")[2])
            elif line.startswith("# TYPE "):
                _, _, metric, kind = line.split(" ")
                assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
                typed[metric] = kind
            else:
                match = sample.match(line)
                assert match, "not a sample line: %r" % line
                metric = match.group(1)
                # A histogram's samples are its name with _bucket (with an le label), _sum and _count.
                base = re.sub(r"_(bucket|sum|count)$", "", metric)
                if base != metric and typed.get(base) == "histogram":
                    assert metric.endswith("_bucket") == ('le="' in line), "le only on buckets: %r" % line
                    metric = base
                assert metric in helped and metric in typed, "no HELP/TYPE for %r" % line
                key, value = line.rsplit(" ", 1)
                print(key, float(value))
        """#
}
