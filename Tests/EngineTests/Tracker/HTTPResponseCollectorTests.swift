import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct HTTPResponseCollectorTests {
    static func head(_ status: Int, _ headers: [(String, String)] = []) -> HTTPClientResponsePart {
        .head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: HTTPHeaders(headers)))
    }

    static func body(_ count: Int) -> HTTPClientResponsePart {
        .body(ByteBuffer(repeating: 0x61, count: count))
    }

    @Test(arguments: [
        (
            [head(200), body(4), body(6), .end(nil)],
            HTTPResponseCollector.Action.finish(.body(Array(repeating: 0x61, count: 10)))
        ),
        ([head(200), body(10), body(1)], .fail(.tooLarge(limit: 10))),
        ([head(200, [("Content-Length", "11")])], .fail(.tooLarge(limit: 10))),
        ([head(302, [("Location", "/x")])], .finish(.redirect(status: 302, location: "/x"))),
        ([head(301)], .fail(.httpStatus(301))),
        ([head(500)], .fail(.httpStatus(500))),
        ([body(1)], .fail(.malformed("unexpected HTTP response part"))),
    ])
    func decides(_ parts: [HTTPClientResponsePart], _ last: HTTPResponseCollector.Action) {
        var collector = HTTPResponseCollector(limit: 10)
        var actions = parts.map { collector.receive($0) }
        #expect(actions.removeLast() == last)
        #expect(actions.allSatisfy { $0 == .read })
        #expect(collector.isDone)
        #expect(collector.receive(Self.body(1)) == .read)
        #expect(collector.connectionClosed() == .read)
    }

    @Test func earlyCloseFails() {
        var collector = HTTPResponseCollector(limit: 10)
        _ = collector.receive(Self.head(200))
        _ = collector.receive(Self.body(3))
        #expect(
            collector.connectionClosed() == .fail(.connection("connection closed before the response was complete")))
    }

    @Test func handlerSendsTheRequestAndClosesAtTheLimit() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: HTTPResponseCollector.Outcome.self)
        try channel.pipeline.syncOperations.addHandler(
            HTTPTrackerRequestHandler(
                target: "/announce?a=%20", hostHeader: "127.0.0.1:6969", userAgent: "btq/test", limit: 10,
                promise: promise))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6969)).wait()
        guard case .head(let head) = try channel.readOutbound(as: HTTPClientRequestPart.self) else {
            Issue.record("no request head")
            return
        }
        #expect(head.method == .GET && head.uri == "/announce?a=%20" && head.version == .http1_1)
        #expect(head.headers["Host"] == ["127.0.0.1:6969"] && head.headers["Connection"] == ["close"])
        #expect(head.headers["User-Agent"] == ["btq/test"])
        #expect(try channel.readOutbound(as: HTTPClientRequestPart.self) == .end(nil))

        try channel.writeInbound(HTTPResponseCollectorTests.head(200))
        try channel.writeInbound(HTTPResponseCollectorTests.body(6))
        #expect(channel.isActive)
        try channel.writeInbound(HTTPResponseCollectorTests.body(6))
        #expect(!channel.isActive)
        #expect(throws: TrackerError.tooLarge(limit: 10)) { try promise.futureResult.wait() }
    }
}
