import NIOCore
import NIOPosix
import Testing

@testable import Engine

/// Which port btq listens on when the one asked for is taken: the next ones, then any free port; and
/// binding real listeners on 127.0.0.1 that way.
@Suite(.timeLimit(.minutes(5))) struct ListenPortFallbackTests {
    @Test func candidatesAreThePortTheNextOnesThenAnyFreePort() {
        #expect(ListenPortFallback(preferred: 6881).candidates == Array(6881...6891) + [0])
        #expect(ListenPortFallback(preferred: 6881, nextPorts: 0).candidates == [6881, 0])
        #expect(ListenPortFallback(preferred: 65_530).candidates == Array(65_530...65_535) + [0])
        #expect(ListenPortFallback(preferred: 65_535, nextPorts: 3).candidates == [65_535, 0])
        #expect(ListenPortFallback(preferred: 0).candidates == [0])
    }

    @Test func aFailedBindTriesEveryCandidateThenThrowsThePreferredPortsError() async {
        struct Refused: Error, CustomStringConvertible {
            let port: UInt16
            var description: String { "refused \(port)" }
        }
        var tried: [UInt16] = []
        do {
            _ = try await ListenPortFallback(preferred: 7000, nextPorts: 2).bind { port -> Int in
                tried.append(port)
                throw Refused(port: port)
            }
            Issue.record("nothing could be bound, yet it returned")
        } catch {
            #expect(error.preferred == 7000)
            #expect(error.reason == "refused 7000")
            #expect(error.description.contains("no port could be bound"))
        }
        #expect(tried == [7000, 7001, 7002, 0])
    }

    @Test func theFirstPortThatBindsIsUsedAndTheReasonForThePreferredOneKept() async throws {
        let bound = try await ListenPortFallback(preferred: 7000).bind { port -> UInt16 in
            guard port >= 7003 else { throw ListenError(preferred: port, tried: 1, reason: "in use") }
            return port
        }
        #expect(bound.value == 7003)
        #expect(bound.triedPort == 7003)
        #expect(bound.preferredFailure?.contains("in use") == true)
        let first = try await ListenPortFallback(preferred: 7000).bind { $0 }
        #expect(first.value == 7000 && first.preferredFailure == nil)
    }

    /// A port held by another listener on 127.0.0.1: the fallback binds another one, one of the next
    /// ten when one of them is free, else any free port; with all eleven held, a port the system picks.
    @Test func aHeldPortMakesTheListenerBindAnother() async throws {
        let registry = SessionRegistry()
        let held = try await PeerListener.bind(host: "127.0.0.1", port: 0, registry: registry)
        Task { await held.run() }
        defer { held.close() }
        let bound = try await ListenPortFallback(preferred: held.port).bind { port in
            try await PeerListener.bind(host: "127.0.0.1", port: port, registry: registry)
        }
        Task { await bound.value.run() }
        defer { bound.value.close() }
        #expect(bound.value.port != held.port && bound.value.port > 0)
        #expect(bound.preferredFailure != nil)
        if bound.triedPort != 0 {
            #expect(bound.value.port == bound.triedPort)
            #expect((1...10).contains(Int(bound.value.port) - Int(held.port)))
        }

        // Hold the next ten as well (those another program holds already are held just the same).
        var others: [PeerListener] = []
        for offset in 1...10 where Int(held.port) + offset <= 65_535 && held.port + UInt16(offset) != bound.value.port {
            if let listener = try? await PeerListener.bind(
                host: "127.0.0.1", port: held.port + UInt16(offset), registry: registry)
            {
                Task { await listener.run() }
                others.append(listener)
            }
        }
        defer { for listener in others { listener.close() } }
        bound.value.close()
        // The listener closed just now may still hold its port for a moment: it is excluded below too.
        let last = try await ListenPortFallback(preferred: held.port).bind { port in
            guard port == 0 || port != bound.value.port else {
                throw ListenError(preferred: port, tried: 1, reason: "excluded")
            }
            return try await PeerListener.bind(host: "127.0.0.1", port: port, registry: registry)
        }
        Task { await last.value.run() }
        defer { last.value.close() }
        #expect(last.triedPort == 0)
        #expect(last.value.port > 0)
        #expect(!(0...10).contains(Int(last.value.port) - Int(held.port)))
    }
}
