import NIOCore
import Synchronization

/// Runs one peer connection, outgoing or incoming: a writer task that drains the session's outbox
/// into the socket, and a reader task that waits for the peer's handshake, has it admitted, then
/// feeds every batch of frames to the session until either side ends.
///
/// The writer reports written `piece` bytes back to the session (``TorrentSession/uploadWritten(_:bytes:)``),
/// which bounds how much upload data waits in the outbox. The reader pauses between batches when a
/// download rate limit is in debt, so a limited torrent stops reading its sockets and TCP slows the
/// sender down; and while the outbox is over its budget (``PeerOutbox/waitForRoom()``), so a peer
/// that does not read what we send stops being read from, and is dropped if it does not drain.
enum PeerConnectionDriver {
    typealias Connection = NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>

    /// The session a connection belongs to and its key there.
    struct Admitted: Sendable {
        let session: TorrentSession
        let key: PeerKey
    }

    /// Runs the connection until it ends and returns who owned it (if anyone did), why it ended, and
    /// whether the peer broke the rules (see ``ReaderStep/misbehaved(_:)``).
    ///
    /// - Parameters:
    ///   - known: the owner, for an outgoing connection (registered before dialling finished).
    ///   - admit: checks the peer's handshake and returns its owner, or throws ``PeerDropped``.
    static func run(
        _ channel: Connection, outbox: PeerOutbox, known: Admitted?,
        admit: @escaping @Sendable (PeerHandshake) async throws -> Admitted
    ) async -> (owner: Admitted?, reason: String, misbehaved: Bool) {
        let owner = SharedValue<Admitted?>(known)
        var reason = "closed by peer"
        var misbehaved = false
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while let batch = await outbox.next() {
                            try await outbound.write(contentsOf: batch.frames)
                            outbox.written(batch)
                            if batch.pieceBytes > 0, let admitted = owner.value.withLock({ $0 }) {
                                await admitted.session.uploadWritten(admitted.key, bytes: batch.pieceBytes)
                            }
                        }
                    }
                    group.addTask {
                        var batches = inbound.makeAsyncIterator()
                        guard var first = try await batches.next(), case .handshake(let handshake) = first.first
                        else {
                            throw PeerDropped(reason: "no handshake")
                        }
                        let admitted = try await admit(handshake)
                        owner.value.withLock { $0 = admitted }
                        first.removeFirst()
                        try await pump(first, &batches, admitted, outbox)
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            reason = "\(error)"
            misbehaved = (error as? PeerDropped)?.misbehaved ?? false
        }
        return (owner.value.withLock { $0 }, reason, misbehaved)
    }

    /// Feeds batches to the session, performs the reader steps it returns, and obeys download limits.
    private static func pump(
        _ first: [PeerWireFrame], _ batches: inout NIOAsyncChannelInboundStream<[PeerWireFrame]>.AsyncIterator,
        _ admitted: Admitted, _ outbox: PeerOutbox
    ) async throws {
        let session = admitted.session
        let key = admitted.key
        let storage = session.storage
        let limits = session.limits
        var batch = first
        while true {
            for step in await session.received(batch, from: key) {
                switch step {
                case .proceed:
                    continue
                case .disconnect(let why):
                    throw PeerDropped(reason: why)
                case .misbehaved(let why):
                    throw PeerDropped(reason: why, misbehaved: true)
                case .write(let request, let bytes):
                    do {
                        try await storage.write(request, bytes: bytes)
                    } catch {
                        await session.blockWriteFailed(request, error: error)
                        throw PeerDropped(reason: "disk: \(error)")
                    }
                    await session.blockWritten(request, from: key)
                }
            }
            let received = batch.reduce(0) { total, frame in
                guard case .message(.piece(_, _, let block)) = frame else { return total }
                return total + block.readableBytes
            }
            if received > 0 {
                let wait = limits.reserveDownload(received)
                if wait > .zero { try await Task.sleep(for: wait) }
            }
            try await outbox.waitForRoom()
            guard let next = try await batches.next() else { break }
            batch = next
        }
    }
}

/// A value behind a lock that tasks share by reference.
final class SharedValue<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
}
