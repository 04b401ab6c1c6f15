import Foundation

/// The one place where errors become messages and exit codes.
///
/// Exit codes: 0 success (a duplicate `add` is a success with a notice), 1 a runtime failure
/// (bad torrent, unknown id, I/O), 64 bad arguments (from ArgumentParser's validation).
struct CLIFailure {
    let message: String
    let exitCode: Int32

    /// Words any error thrown while a command runs (argument errors never get here).
    init(_ error: any Error) {
        switch error {
        case let error as CocoaError:
            message = error.localizedDescription
        case let error as any CustomStringConvertible:
            message = error.description
        default:
            message = "\(error)"
        }
        exitCode = 1
    }

    /// Prints `btq: <message>` on stderr.
    func report() {
        FileHandle.standardError.write(Data("btq: \(TerminalText.clean(message))\n".utf8))
    }
}

/// An error worded for the user, raised by the commands themselves.
struct UserError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
