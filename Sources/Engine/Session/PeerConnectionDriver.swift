import NIOCore
import Synchronization

/// What a connection run by ``PeerConnectionDriver`` belongs to: a torrent's ``TorrentSession``, or a
/// magnet link's ``MetadataFetcher``. The driver runs the socket; the owner decides what each frame means.
protocol PeerConnectionOwner: Actor {
    /// Handles one batch of frames from the peer (the handshake excepted, which `admit` checked);
    /// returns what the reader does next, in order.
    func received(_ frames: [PeerWireFrame], from key: PeerKey) -> [ReaderStep]
    /// The writer sent `bytes` of `piece` data to the peer.
    func uploadWritten(_ key: PeerKey, bytes: Int)
    /// Stores a block the peer sent (a ``ReaderStep/write(_:_:)`` step) and reports back, on the reader's
    /// task (the owner's actor is free meanwhile); throws to drop the peer.
    nonisolated func storeBlock(_ request: BlockRequest, bytes: [UInt8], from key: PeerKey) async throws
    /// How long to stop reading after `bytes` of piece data arrived (a download rate limit in debt).
    nonisolated func readPause(after bytes: Int) -> Duration
}

/// Runs one peer connection, outgoing or incoming: a writer task that drains the owner's outbox into
/// the socket, and a reader task that waits for the peer's handshake, has it admitted, then feeds
/// every batch of frames to the owner until either side ends.
///
/// The writer reports written `piece` bytes back to the owner (``PeerConnectionOwner/uploadWritten(_:bytes:)``),
/// which bounds how much upload data waits in the outbox. The reader pauses between batches when a
/// download rate limit is in debt, so a limited torrent stops reading its sockets and TCP slows the
/// sender down; and while the outbox is over its budget (``PeerOutbox/waitForRoom()``), so a peer
/// that does not read what we send stops being read from, and is dropped if it does not drain.
enum PeerConnectionDriver {
    typealias Connection = NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>

    /// The owner a connection belongs to and its key there.
    struct Admitted<Owner: PeerConnectionOwner>: Sendable {
        let owner: Owner
        let key: PeerKey
    }

    /// Runs the connection until it ends and returns who owned it (if anyone did), why it ended, and
    /// whether the peer broke the rules (see ``ReaderStep/misbehaved(_:)``).
    ///
    /// - Parameters:
    ///   - known: the owner, for an outgoing connection (registered before dialling finished).
    ///   - admit: checks the peer's handshake and returns its owner, or throws ``PeerDropped``.
    static func run<Owner: PeerConnectionOwner>(
        _ channel: Connection, outbox: PeerOutbox, known: Admitted<Owner>?,
        admit: @escaping @Sendable (PeerHandshake) async throws -> Admitted<Owner>
    ) async -> (admitted: Admitted<Owner>?, reason: String, misbehaved: Bool) {
        let owner = SharedValue<Admitted<Owner>?>(known)
        var reason = "closed by peer"
        var misbehaved = false
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        while let batch = await outbox.next() {
                            try await outbound.write(contentsOf: batch.frames)
                            outbox.written(batch)
                            if batch.pieceBytes > 0, let admitted = owner.value.withLock({ $0 }) {
                                await admitted.owner.uploadWritten(admitted.key, bytes: batch.pieceBytes)
                            }
                        }
                        guard outbox.isClosingAfterSending else { return false }
                        // NIO shuts the socket's output once its pending writes are out.
                        try await channel.channel.close(mode: .output)
                        return true
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
                        return false
                    }
                    // After a graceful close the reader runs on until the peer closes its side.
                    if try await group.next() == true { _ = try await group.next() }
                    group.cancelAll()
                }
            }
        } catch {
            reason = "\(error)"
            misbehaved = (error as? PeerDropped)?.misbehaved ?? false
        }
        return (owner.value.withLock { $0 }, reason, misbehaved)
    }

    /// Feeds batches to the owner, performs the reader steps it returns, and obeys download limits.
    private static func pump<Owner: PeerConnectionOwner>(
        _ first: [PeerWireFrame], _ batches: inout NIOAsyncChannelInboundStream<[PeerWireFrame]>.AsyncIterator,
        _ admitted: Admitted<Owner>, _ outbox: PeerOutbox
    ) async throws {
        let owner = admitted.owner
        let key = admitted.key
        var batch = first
        while true {
            for step in await owner.received(batch, from: key) {
                switch step {
                case .proceed:
                    continue
                case .disconnect(let why):
                    throw PeerDropped(reason: why)
                case .misbehaved(let why):
                    throw PeerDropped(reason: why, misbehaved: true)
                case .write(let request, let bytes):
                    try await owner.storeBlock(request, bytes: bytes, from: key)
                }
            }
            let received = batch.reduce(0) { total, frame in
                guard case .message(.piece(_, _, let block)) = frame else { return total }
                return total + block.readableBytes
            }
            if received > 0 {
                let wait = owner.readPause(after: received)
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
