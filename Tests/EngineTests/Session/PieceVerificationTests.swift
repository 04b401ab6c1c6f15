import NIOCore
import TestSupport
import Testing

@testable import Engine

/// A session's pieces on their way to verified: one check from the files per piece at a time, and
/// callers of a stop waiting until the stores of assembled pieces have ended.
@Suite(.timeLimit(.minutes(1)))
struct PieceVerificationTests {
    /// Two 32 KiB pieces of two blocks each.
    static let layout = PieceLayout(pieceLength: 32_768, totalLength: 2 * 32_768)

    /// Holds a ``PieceVerification`` on an actor, as ``TorrentSession`` does.
    actor Holder {
        var verification = PieceVerification(layout: PieceVerificationTests.layout)

        /// Adds every block of `piece`; returns the buffer of the complete piece.
        func assemble(_ piece: Int) -> PieceBuffer? {
            var result: PieceBuffer?
            for request in PieceVerificationTests.layout.requests(in: PieceIndex(piece)) {
                let block = ByteBuffer(repeating: UInt8(piece), count: Int(request.length))
                if case .complete(let buffer) = verification.assemblies.add(request, block: block, epoch: 0) {
                    result = buffer
                }
            }
            return result
        }
        func waitForStores() async {
            while verification.assemblies.storesInFlight > 0 {
                await withCheckedContinuation { verification.waitForStores($0) }
            }
        }
        func stored(_ buffer: PieceBuffer) { verification.stored(buffer, keepSpare: true) }
        var waiting: Int { verification.waitingForStores }
    }

    @Test func aPieceIsCheckedFromTheFilesOnceAtATime() {
        var verification = PieceVerification(layout: Self.layout)
        let first = verification.startHashing(PieceIndex(1))
        let again = verification.startHashing(PieceIndex(1))
        let other = verification.startHashing(PieceIndex(0))
        #expect(first && !again && other)
        verification.hashingEnded(PieceIndex(1))
        #expect(verification.hashing == [PieceIndex(0)])
        let afterItsEnd = verification.startHashing(PieceIndex(1))
        #expect(afterItsEnd)
    }

    @Test func withNoStoreInFlightNobodyWaits() async {
        let holder = Holder()
        await holder.waitForStores()
        #expect(await holder.waiting == 0)
    }

    @Test func waitersAreToldWhenTheLastStoreEnds() async throws {
        let holder = Holder()
        let first = try #require(await holder.assemble(0))
        let second = try #require(await holder.assemble(1))
        let waiter = Task { await holder.waitForStores() }
        #expect(try await poll(timeout: .seconds(10)) { await holder.waiting == 1 })
        // One store still runs: the waiter stays.
        await holder.stored(first)
        #expect(await holder.waiting == 1)
        await holder.stored(second)
        #expect(await holder.waiting == 0)
        await waiter.value
    }
}
