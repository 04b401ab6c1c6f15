import Foundation
import Store

/// Runs the built `btq` executable as a user would, with its own database.
struct BtqProcess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var stderrLines: [Substring] { stderr.split(separator: "\n") }
    }

    /// A temporary folder with a database path inside it; removed by ``cleanUp()``.
    let folder: URL
    var database: String { folder.appendingPathComponent("db/btq.sqlite").path }

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("btq-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: folder)
    }

    /// The `btq` binary next to the test bundle (SwiftPM builds it because BtqTests depends on it).
    static let executable: URL = {
        if let path = ProcessInfo.processInfo.environment["BTQ_BIN"] { return URL(fileURLWithPath: path) }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = me.deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("btq")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue
            {
                return candidate
            }
            folder.deleteLastPathComponent()
        }
        fatalError("btq executable not found near \(me.path); set BTQ_BIN")
    }()

    /// Runs `btq` with `arguments`, `BTQ_DB` pointing at this instance's database, in `folder`; through
    /// `prefix` when given (a command that runs the rest of its arguments: `setpriv ...`, `unshare ...`).
    @discardableResult
    func run(_ arguments: [String], in directory: URL? = nil, prefix: [String] = []) throws -> Result {
        let process = Process()
        if let wrapper = prefix.first {
            process.executableURL = URL(fileURLWithPath: wrapper)
            process.arguments = prefix.dropFirst() + [Self.executable.path] + arguments
        } else {
            process.executableURL = Self.executable
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["BTQ_DB"] = database
        process.environment = environment
        process.currentDirectoryURL = directory ?? folder
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Writes `bytes` to a file in the folder and returns its path.
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Everything the queue holds, to compare before and after a command that must change nothing.
    func snapshot() throws -> String? {
        guard FileManager.default.fileExists(atPath: database) else { return nil }
        let store = try BtqStore(path: database)
        let torrents = try store.queries.torrents(includeRemoved: true)
        var text = torrents.map { "\($0)" }.joined(separator: "\n")
        for torrent in torrents {
            text += try store.queries.files(torrentId: torrent.id).map { "\($0)" }.joined(separator: "\n")
            text += try store.queries.trackers(torrentId: torrent.id).map { "\($0)" }.joined(separator: "\n")
        }
        text += try store.queries.events().map { "\($0)" }.joined(separator: "\n")
        return text
    }
}
