import Dispatch
import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    RPCFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes what the RPC server reads from the network. The first byte picks: an even one feeds the rest
/// to ``RPCDispatcher`` as a request body (against a backend of three torrents that refuses nothing):
/// every answer must be JSON with a `result`, and the answer to what is not a request must change
/// nothing; an odd one splits the rest into a Host, an Authorization and a session id header for
/// ``RPCGate``, which must allow only the right password and session id.
@main
enum RPCFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static let gate: RPCGate = {
        var settings = RPCSettings()
        settings.username = "u"
        settings.password = RPCPassword.hashing("p", salt: Array(repeating: 1, count: 16))
        settings.whitelist = ["*.lan", "box"]
        return RPCGate(settings: settings, sessionID: "S")
    }()

    static func run(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let rest = Array(bytes.dropFirst())
        if mode % 2 == 0 {
            request(rest)
        } else {
            headers(rest)
        }
    }

    static func request(_ body: [UInt8]) {
        let backend = StubBackend()
        let dispatcher = RPCDispatcher(backend: backend, settings: RPCSettings())
        let done = DispatchSemaphore(value: 0)
        let answer = Answer()
        Task {
            answer.bytes = await dispatcher.respond(to: body)
            done.signal()
        }
        done.wait()
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(answer.bytes)
        } catch {
            FuzzCheck.require(false, "the answer is not JSON: \(String(decoding: answer.bytes, as: UTF8.self))")
            return
        }
        FuzzCheck.require(parsed["result"]?.stringValue != nil, "the answer has a result")
        if (try? JSONValue.parse(body))?["method"]?.stringValue == nil {
            FuzzCheck.require(backend.changes == 0, "what is not a request changes nothing")
        }
    }

    static func headers(_ bytes: [UInt8]) {
        let parts = bytes.split(separator: 0x0A, maxSplits: 2, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        let host = parts.first
        let authorization = parts.count > 1 ? parts[1] : nil
        let session = parts.count > 2 ? parts[2] : nil
        let decision = gate.decide(host: host, authorization: authorization, sessionID: session, needsSession: true)
        if decision == .allow {
            FuzzCheck.require(session == "S", "allowed only with the session id")
            FuzzCheck.require(authorization != nil, "allowed only with a password")
        }
    }
}

/// Where a task leaves the answer for the fuzzer's thread (written before the semaphore is signalled).
final class Answer: @unchecked Sendable {
    var bytes: [UInt8] = []
}
