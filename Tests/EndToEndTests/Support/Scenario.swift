import Foundation
import Synchronization
import Testing

/// One end-to-end test's world: its own temporary folder and every process it started.
///
/// ``run(_:sourceLocation:_:)`` checks the network namespace first, stops every process afterwards (by pid, also
/// when the test throws), and on failure puts the tail of every process's log into the issue it
/// records, so a red CI run says what each program was doing. The folder is removed afterwards,
/// unless the test failed and `BTQ_E2E_KEEP=1`, or `BTQ_E2E_KEEP=all`.
final class Scenario: Sendable {
    /// The test's own folder.
    let directory: URL
    private let children = Mutex<[ChildProcess]>([])
    /// Children whose logs a failure report leaves out unless they failed themselves.
    private let quiet = Mutex<Set<ObjectIdentifier>>([])
    private let failed = Atomic<Bool>(false)

    private init(name: String) throws {
        let safe = String(
            name.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || "-_".contains(Character($0))) })
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("btq-e2e-\(safe.prefix(40))-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Runs `body` in a fresh scenario named after the calling test; see the type's description.
    static func run(
        _ name: String = #function, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (Scenario) async throws -> Void
    ) async {
        do {
            try E2E.requireLoopbackOnlyNamespace()
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
            return
        }
        let scenario: Scenario
        do {
            scenario = try Scenario(name: name)
        } catch {
            Issue.record("cannot create the test folder: \(error)", sourceLocation: sourceLocation)
            return
        }
        do {
            try await body(scenario)
        } catch {
            scenario.record("\(error)", sourceLocation: sourceLocation)
        }
        await scenario.stopAll()
        let keep = ProcessInfo.processInfo.environment["BTQ_E2E_KEEP"]
        if (scenario.failed.load(ordering: .relaxed) && keep == "1") || keep == "all" {
            print("[e2e] \(name): kept \(scenario.directory.path)")
        } else {
            try? FileManager.default.removeItem(at: scenario.directory)
        }
    }

    /// A path inside the test's folder.
    func path(_ relative: String) -> URL {
        directory.appendingPathComponent(relative)
    }

    /// A new empty folder inside the test's folder.
    func folder(_ relative: String) throws -> URL {
        let url = path(relative)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Starts a program whose log goes to `logs/<name>.log`; it is stopped when the test ends.
    func start(
        _ name: String, _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        directory: URL? = nil, extraLogs: [URL] = []
    ) throws -> ChildProcess {
        let logs = try folder("logs")
        let file = name.replacingOccurrences(of: " ", with: "-") + "-\(children.withLock { $0.count }).log"
        let child = try ChildProcess(
            name: name, executable: executable, arguments: arguments, environment: environment,
            directory: directory ?? self.directory, logURL: logs.appendingPathComponent(file), extraLogs: extraLogs)
        children.withLock { $0.append(child) }
        return child
    }

    /// Runs a short command to its end (at most `timeout`) and returns its status and output. A
    /// `quiet` one's log is left out of failure reports when it exited 0.
    func runTool(
        _ name: String, _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        timeout: Duration = .seconds(30), quiet: Bool = false
    ) async throws -> (status: Int32, output: String) {
        let child = try start(name, executable, arguments, environment: environment)
        if quiet { _ = self.quiet.withLock { $0.insert(ObjectIdentifier(child)) } }
        guard let status = await child.waitForExit(timeout: timeout) else {
            await child.stop()
            throw HarnessError("\(name) did not finish within \(timeout)\n\(child.logTail())")
        }
        let text = (try? String(contentsOf: child.logURL, encoding: .utf8)) ?? ""
        // Drop the "$ command" line the log starts with.
        let output = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first
        return (status, output.map(String.init) ?? "")
    }

    /// Stops every process this scenario started (all at once, by pid).
    func stopAll() async {
        await ChildProcess.stop(children.withLock { $0 })
    }

    /// The log tails of every process started so far.
    func logReport() -> String {
        let quiet = self.quiet.withLock { $0 }
        return children.withLock { $0 }
            .filter { !quiet.contains(ObjectIdentifier($0)) || $0.exitStatus != 0 }
            .map { $0.logTail() }.joined(separator: "\n")
    }

    /// Records a failure with `message` and the log tails of every process.
    func record(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        failed.store(true, ordering: .relaxed)
        Issue.record(
            Comment(rawValue: message + "\n\nfolder: \(directory.path)\n" + logReport()), sourceLocation: sourceLocation
        )
    }

    /// Like `#expect`: records a failure (with the logs) unless `condition` holds; returns it.
    @discardableResult
    func expect(
        _ condition: Bool, _ message: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        if !condition { record(message(), sourceLocation: sourceLocation) }
        return condition
    }

    /// Like `#require`: throws (ending the test, with the logs) unless `condition` holds.
    func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw HarnessError(message()) }
    }
}
