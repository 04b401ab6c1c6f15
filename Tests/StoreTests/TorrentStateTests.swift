import Engine
import Testing

@testable import Store

/// A state read from the database's UTF-8 bytes is the state its raw value names, and nothing else is one.
@Suite(.timeLimit(.minutes(5))) struct TorrentStateTests {
    static func state(_ text: String) -> TorrentState? {
        Array(text.utf8).withUnsafeBufferPointer { TorrentState(utf8: $0) }
    }

    @Test func everyRawValueReadsBack() {
        for state in TorrentState.allCases {
            #expect(Self.state(state.rawValue) == state)
        }
    }

    @Test(arguments: [
        "", "q", "queue", "queuedd", "Queued", "checkin", "completes", "complete", "c", "mETADATA", "zzz",
    ])
    func otherTextIsNoState(text: String) {
        #expect(Self.state(text) == nil)
        #expect(TorrentState(rawValue: text) == nil)
    }

    @Test func noBytesAtAllAreNoState() {
        #expect(TorrentState(utf8: UnsafeBufferPointer(start: nil, count: 0)) == nil)
    }
}
