import NIOCore
import NIOHTTP1

/// The decisions about one HTTP tracker response, as a pure state machine: the channel handler feeds it
/// response parts and performs the ``Action`` it returns.
///
/// Only status 200 carries a body worth reading; a redirect is reported with its `Location`; any
/// other status fails at once. The body is bounded by `limit` while it streams in: a `Content-Length`
/// above the limit fails before any body byte arrives, and without one the collector refuses the
/// part that would cross the limit, so it never holds more than `limit` bytes.
struct HTTPResponseCollector {
    /// What the collector made of the response.
    enum Outcome: Equatable, Sendable {
        /// Status 200 and its complete body.
        case body([UInt8])
        /// A redirect status with the `Location` to follow.
        case redirect(status: Int, location: String)
    }

    /// What the handler must do next.
    enum Action: Equatable {
        /// Keep reading.
        case read
        /// Done: hand the outcome over and close the connection.
        case finish(Outcome)
        /// Failed: hand the error over and close the connection.
        case fail(TrackerError)
    }

    private enum State {
        case awaitingHead
        case readingBody([UInt8])
        case done
    }

    /// The statuses followed as redirects.
    static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]

    private var state = State.awaitingHead
    private let limit: Int

    /// A collector that accepts bodies of at most `limit` bytes.
    init(limit: Int) {
        self.limit = limit
    }

    /// True once the collector has finished or failed; later parts are ignored.
    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Feeds one response part.
    mutating func receive(_ part: HTTPClientResponsePart) -> Action {
        switch (state, part) {
        case (.done, _):
            return .read
        case (.awaitingHead, .head(let head)):
            let status = Int(head.status.code)
            if Self.redirectStatuses.contains(status) {
                state = .done
                guard let location = head.headers.first(name: "location"), !location.isEmpty else {
                    return .fail(.httpStatus(status))
                }
                return .finish(.redirect(status: status, location: location))
            }
            guard status == 200 else {
                state = .done
                return .fail(.httpStatus(status))
            }
            if let declared = head.headers.first(name: "content-length").flatMap({ Int($0) }), declared > limit {
                state = .done
                return .fail(.tooLarge(limit: limit))
            }
            state = .readingBody([])
            return .read
        case (.readingBody(var body), .body(let buffer)):
            guard buffer.readableBytes <= limit - body.count else {
                state = .done
                return .fail(.tooLarge(limit: limit))
            }
            state = .done  // avoid a copy-on-write of `body` while appending
            body.append(contentsOf: buffer.readableBytesView)
            state = .readingBody(body)
            return .read
        case (.readingBody(let body), .end):
            state = .done
            return .finish(.body(body))
        case (.awaitingHead, _), (.readingBody, .head):
            state = .done
            return .fail(.malformed("unexpected HTTP response part"))
        }
    }

    /// The connection closed: fails unless the response was complete.
    mutating func connectionClosed() -> Action {
        guard !isDone else { return .read }
        state = .done
        return .fail(.connection("connection closed before the response was complete"))
    }
}
