/// The decisions about one web seed response, as a value: the channel feeds it the status and headers,
/// then the body as it streams in, and it says what is read, followed, retried or refused.
///
/// Only the bytes asked for are ever taken: a `206` must name exactly the range asked for
/// (`Content-Range`, and `Content-Length` when given); a `200` (a server that ignores `Range`) is
/// accepted only for a range that starts at the file's first byte, and is then read only up to the
/// bytes asked for (the connection is closed after, not read to its end); any other `200` is refused
/// before its body. Body bytes beyond the range are an error, never buffered. Redirects, busy statuses
/// (with `Retry-After`) and the rest are reported as typed ``WebSeedError``s.
public struct WebSeedResponseReader: Sendable {
    /// What to do after the response head.
    public enum HeadVerdict: Hashable, Sendable {
        /// Read the body through ``body(_:)``.
        case read
        /// Ask again at this `Location` (relative or absolute).
        case redirect(String)
        /// Give up on this response.
        case failed(WebSeedError)
    }

    private enum State: Hashable, Sendable {
        case awaitingHead
        /// A `206` (exact) or a `200` read only up to the range (`partial == false`).
        case readingBody(partial: Bool)
        case done
    }

    /// The statuses followed as redirects.
    public static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]
    /// The longest `Location` followed.
    public static let maxLocationLength = 4096

    /// The first byte asked for, within the file.
    public let offset: Int64
    /// How many bytes were asked for.
    public let length: Int
    /// Body bytes taken so far (never more than ``length``).
    public private(set) var received = 0
    /// Whether the connection can carry another request once this response ended.
    public private(set) var reusable = true
    private var state = State.awaitingHead

    /// A reader for the answer to a request of `length` bytes from `offset`.
    public init(offset: Int64, length: Int) {
        precondition(offset >= 0 && length > 0, "a range of at least one byte")
        self.offset = offset
        self.length = length
    }

    /// True once every byte asked for was taken.
    public var isComplete: Bool { received == length }

    /// Judges the response head. `headers` are (name, value) pairs, names in any case.
    public mutating func head(status: Int, headers: [(name: String, value: String)]) -> HeadVerdict {
        guard state == .awaitingHead else { return refuse(.malformed("a second response head")) }
        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name }?.value.trimmingWhitespace
        }
        if header("connection")?.lowercased() == "close" { reusable = false }
        if Self.redirectStatuses.contains(status) {
            state = .done
            reusable = false
            guard let location = header("location"), !location.isEmpty,
                location.utf8.count <= Self.maxLocationLength
            else {
                return .failed(.badRedirect("status \(status) without a usable Location"))
            }
            return .redirect(location)
        }
        let declaredLength = header("content-length").map { Int64($0) ?? -1 }
        if declaredLength == -1 { return refuse(.malformed("Content-Length is not a number")) }
        switch status {
        case 206:
            guard let contentRange = header("content-range") else { return refuse(.wrongRange("no Content-Range")) }
            guard let (first, last) = Self.parseContentRange(contentRange) else {
                return refuse(.wrongRange("cannot read Content-Range \(String(contentRange.prefix(100)))"))
            }
            guard first == offset, last == offset + Int64(length) - 1 else {
                return refuse(.wrongRange("asked for \(offset)-\(offset + Int64(length) - 1), got \(first)-\(last)"))
            }
            if let declaredLength, declaredLength != Int64(length) {
                return refuse(.wrongRange("Content-Length \(declaredLength) for \(length) bytes"))
            }
            state = .readingBody(partial: true)
            return .read
        case 200:
            guard offset == 0 else { return refuse(.ignoresRange) }
            if let declaredLength, declaredLength < Int64(length) { return refuse(.truncated) }
            // Only the start of the body is read: the connection cannot carry another request after.
            if declaredLength != Int64(length) { reusable = false }
            state = .readingBody(partial: false)
            return .read
        case 429, 500...599:
            return refuse(.unavailable(status: status, retryAfter: header("retry-after").flatMap(Self.retryAfter)))
        default:
            return refuse(.httpStatus(status))
        }
    }

    /// Takes `count` more body bytes; returns how many of them belong to the range (the first ones;
    /// the rest of a `200`'s body is dropped and the reader is complete).
    ///
    /// - Throws: ``WebSeedError/tooLong`` when a `206` sends more than its range.
    public mutating func body(_ count: Int) throws(WebSeedError) -> Int {
        guard case .readingBody(let partial) = state else {
            throw fail(.malformed("body bytes outside a response"))
        }
        let room = length - received
        if count > room {
            guard !partial else { throw fail(.tooLong) }
            reusable = false
            received = length
            state = .done
            return room
        }
        received += count
        return count
    }

    /// The response ended (its last part, or its connection closed when `connectionClosed`).
    ///
    /// - Throws: ``WebSeedError/truncated`` unless every byte asked for was taken.
    public mutating func end(connectionClosed: Bool = false) throws(WebSeedError) {
        if connectionClosed { reusable = false }
        if case .done = state, isComplete { return }
        guard case .readingBody = state, isComplete else { throw fail(.truncated) }
        state = .done
    }

    private mutating func fail(_ error: WebSeedError) -> WebSeedError {
        state = .done
        reusable = false
        return error
    }

    private mutating func refuse(_ error: WebSeedError) -> HeadVerdict {
        .failed(fail(error))
    }

    /// `bytes first-last/total` (or `/*`): `first` and `last`, or `nil` when malformed.
    static func parseContentRange(_ text: String) -> (Int64, Int64)? {
        let lowered = text.lowercased()
        guard lowered.hasPrefix("bytes ") else { return nil }
        let spec = lowered.dropFirst(6).trimmingWhitespace
        let parts = spec.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let bounds = parts[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard bounds.count == 2, bounds[0].count <= 19, bounds[1].count <= 19,
            let first = Int64(bounds[0]), let last = Int64(bounds[1]), first >= 0, last >= first
        else { return nil }
        if parts[1] != "*" {
            guard parts[1].count <= 19, let total = Int64(parts[1]), total > last else { return nil }
        }
        return (first, last)
    }

    /// A `Retry-After` of delay seconds (an HTTP date is not followed: it depends on our clock agreeing).
    static func retryAfter(_ text: String) -> Duration? {
        guard text.count <= 10, let seconds = Int64(text), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingWhitespace: String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
