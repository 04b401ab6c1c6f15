/// Which ports to listen on for peers when the one asked for is taken: that port, then the next few,
/// then any free port the system picks (port 0).
///
/// Listening on some port matters more than which one: trackers and peers learn the port actually bound,
/// because the session announces that one (``SessionConfiguration/listenPort``). Announcing a port that
/// another program holds would make the tracker take us for that program (same address and port) and
/// hand our peers to it.
package struct ListenPortFallback: Sendable, Equatable {
    /// The port asked for (the setting or `--port`).
    package let preferred: UInt16
    /// How many ports after ``preferred`` are tried before any free port.
    package let nextPorts: Int

    /// The default number of ports tried after the preferred one.
    package static let defaultNextPorts = 10

    /// Tries `preferred`, then up to `nextPorts` ports after it (never past 65535), then port 0.
    package init(preferred: UInt16, nextPorts: Int = Self.defaultNextPorts) {
        precondition(nextPorts >= 0, "a count of ports")
        self.preferred = preferred
        self.nextPorts = nextPorts
    }

    /// The ports to try, in order; 0 (any free port) last. A preferred port of 0 is tried alone.
    package var candidates: [UInt16] {
        guard preferred > 0 else { return [0] }
        let last = min(Int(UInt16.max), Int(preferred) + nextPorts)
        return (Int(preferred)...last).map { UInt16($0) } + [0]
    }

    /// What binding gave: the value `bind` returned and the port it was given (0: any free port).
    package struct Bound<Value> {
        /// What `bind` returned for the first candidate it could bind.
        package let value: Value
        /// The candidate that worked (0 when the system picked a free port).
        package let triedPort: UInt16
        /// Why the preferred port could not be bound, when another one had to be used.
        package let preferredFailure: String?
    }

    /// Calls `bind` with each candidate in turn until one succeeds.
    ///
    /// - Throws: ``ListenError`` with the preferred port's error when no candidate could be bound.
    package func bind<Value>(_ bind: (UInt16) async throws -> Value) async throws(ListenError) -> Bound<Value> {
        var firstFailure: String?
        for port in candidates {
            do {
                let value = try await bind(port)
                return Bound(value: value, triedPort: port, preferredFailure: firstFailure)
            } catch {
                if firstFailure == nil { firstFailure = "\(error)" }
            }
        }
        throw ListenError(preferred: preferred, tried: candidates.count, reason: firstFailure ?? "")
    }
}

/// No port at all could be bound for incoming peers (the address is not one of this machine's, or
/// binding is not allowed).
package struct ListenError: Error, CustomStringConvertible, Sendable {
    /// The port asked for.
    package let preferred: UInt16
    /// How many ports were tried (any free port included).
    package let tried: Int
    /// Why the preferred port could not be bound.
    package let reason: String

    /// One sentence for the terminal.
    package var description: String {
        "no port could be bound (\(preferred), the next \(max(0, tried - 2)) and any free one): \(reason)"
    }
}

extension ListenPortFallback.Bound: Sendable where Value: Sendable {}
