import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT and SIGTERM into a callback (once per signal), so a download stops cleanly.
final class SignalTrap {
    private let sources: [any DispatchSourceSignal]

    init(_ handler: @escaping @Sendable (Int32) -> Void) {
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    deinit {
        for source in sources { source.cancel() }
    }
}

/// A stop asked for (by a signal) before or after the one who acts on it is there: the action runs
/// when it is set if the stop was asked for already, and on each request after that.
final class StopRequest: Sendable {
    private let state = Mutex<(requested: Bool, action: (@Sendable () -> Void)?)>((false, nil))

    /// Asks for the stop.
    func request() {
        let action = state.withLock { state in
            state.requested = true
            return state.action
        }
        action?()
    }

    /// What stopping does; run at once when the stop was asked for already.
    func whenRequested(_ action: @escaping @Sendable () -> Void) {
        let requested = state.withLock { state in
            state.action = action
            return state.requested
        }
        if requested { action() }
    }
}
