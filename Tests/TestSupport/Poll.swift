/// Polls `condition` every `interval` until it holds (returns true) or `timeout` has passed (returns
/// false, after asking once more at the deadline). The one way the tests wait for something to happen:
/// bounded by the deadline, synchronized on a condition, never on a fixed sleep. Throws only when the
/// condition throws or the waiting task is cancelled.
@discardableResult
public func poll(
    timeout: Duration, interval: Duration = .milliseconds(20), until condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: min(interval, max(deadline - ContinuousClock.now, .zero)))
    }
    return try await condition()
}
