import Foundation

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// A program a test started: its standard output and error go to a log file in the test's folder,
/// and it is stopped by its pid, never by name.
///
/// `@unchecked Sendable`: the only mutable state is Foundation's `Process`, whose status accessors
/// are synchronized; everything else is set once in `init`.
final class ChildProcess: @unchecked Sendable {
    /// A short name for messages ("opentracker", "btq get", ...).
    let name: String
    /// Where its stdout and stderr go.
    let logURL: URL
    /// The command line, for messages.
    let commandLine: String
    /// Log files the program writes itself, shown after its output in ``logTail(lines:)``.
    let extraLogs: [URL]
    private let process: Process
    private let started = ContinuousClock.now

    /// Starts `executable` with `arguments`; `environment` entries are laid over this process's
    /// environment. Output (both streams) goes to `logURL`, which is created or truncated.
    init(
        name: String, executable: String, arguments: [String], environment: [String: String] = [:],
        directory: URL, logURL: URL, extraLogs: [URL] = []
    ) throws {
        self.name = name
        self.logURL = logURL
        self.extraLogs = extraLogs
        commandLine = ([executable] + arguments).map(Self.quoted).joined(separator: " ")
        guard FileManager.default.createFile(atPath: logURL.path, contents: Data("$ \(commandLine)\n".utf8)) else {
            throw HarnessError("\(name): cannot create its log \(logURL.path)")
        }
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            try? log.close()
            throw HarnessError("\(name): cannot start \(executable): \(error)")
        }
        try? log.close()
    }

    deinit {
        // The last resort when a test forgot to stop it: never leave a process behind.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Its process id.
    var pid: Int32 { process.processIdentifier }

    /// True until it has exited (and been reaped).
    var isRunning: Bool { process.isRunning }

    /// Its exit status, or `nil` while it runs. Killed by a signal: 128 + the signal number.
    var exitStatus: Int32? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Seconds since it was started.
    var elapsed: Duration { ContinuousClock.now - started }

    /// Waits at most `timeout` for it to exit; its exit status, or `nil` if it is still running.
    func waitForExit(timeout: Duration) async -> Int32? {
        _ = try? await poll(timeout: timeout, interval: .milliseconds(20)) { !self.process.isRunning }
        return exitStatus
    }

    /// Polls `condition` until it holds; throws if this process exits first or after `timeout`,
    /// with the end of its log in the message.
    func waitUntil(_ what: String, timeout: Duration, _ condition: @Sendable () throws -> Bool) async throws {
        let outcome = try await poll(timeout: timeout, interval: .milliseconds(100)) {
            try condition() || !self.process.isRunning
        }
        if try condition() { return }
        if outcome, let status = exitStatus {
            throw HarnessError("\(name) exited with status \(status) before \(what)\n\(logTail())")
        }
        throw HarnessError("\(name): no \(what) within \(timeout)\n\(logTail())")
    }

    /// Stops it: SIGTERM, then SIGKILL if it has not exited within `grace`. Waits for it to be reaped.
    func stop(grace: Duration = .seconds(5)) async {
        await Self.stop([self], grace: grace)
    }

    /// Sends `signal` to it (by pid) if it is still running.
    func send(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Stops all of `children` at once: SIGTERM to each, then SIGKILL to those still running after
    /// `grace`; waits (bounded) until they are reaped.
    static func stop(_ children: [ChildProcess], grace: Duration = .seconds(5)) async {
        for child in children { child.send(SIGTERM) }
        let done =
            (try? await poll(timeout: grace, interval: .milliseconds(20)) {
                children.allSatisfy { !$0.isRunning }
            }) ?? false
        guard !done else { return }
        for child in children { child.send(SIGKILL) }
        _ = try? await poll(timeout: .seconds(5), interval: .milliseconds(20)) { children.allSatisfy { !$0.isRunning } }
    }

    /// The last `lines` lines of its log, each prefixed with its name.
    func logTail(lines: Int = 30) -> String {
        let status = exitStatus.map { "exited with status \($0)" } ?? "running"
        var text = "--- \(name) (pid \(pid), \(status)), log \(logURL.path):\n" + Self.tail(of: logURL, lines: lines)
        for url in extraLogs {
            text += "\n    its log \(url.path):\n" + Self.tail(of: url, lines: lines)
        }
        return text
    }

    private static func tail(of url: URL, lines: Int) -> String {
        let data = (try? Data(contentsOf: url)) ?? Data()
        // Progress lines end in \r; show only the latest state of each.
        let text = String(decoding: data.suffix(64 * 1024), as: UTF8.self)
        let rows = text.split(separator: "\n", omittingEmptySubsequences: false).map { row in
            row.split(separator: "\r").last.map(String.init) ?? ""
        }
        return rows.suffix(lines + 1).drop { $0.isEmpty }.map { "  | \($0)" }.joined(separator: "\n")
    }

    private static func quoted(_ argument: String) -> String {
        let plain = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=,@%+".contains($0) }
        return plain && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// A failure of the test harness or of a program under test, with a message meant for the reader
/// of a CI log.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
