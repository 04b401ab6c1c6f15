import Foundation

@testable import Engine

/// A ``PieceStorage`` decorator that fails or holds syncs, as a failing or slow device would: it passes
/// everything to `base`, except that ``flush()`` fails once when told to (Linux reports a failed
/// write-back once, and the next sync succeeds), or waits at a gate until the test opens it.
final class FaultyStorage: PieceStorage, @unchecked Sendable {
    // Invariant for @unchecked Sendable: every mutable property is accessed only with `lock` held.
    let base: any PieceStorage
    private let lock = NSLock()
    private var failNextFlush = false
    private var holdFlushes = false
    private var held: [CheckedContinuation<Void, Never>] = []
    private var holdWaiters: [CheckedContinuation<Void, Never>] = []
    private var flushCount = 0

    init(_ base: any PieceStorage) { self.base = base }

    var layout: PieceLayout { base.layout }
    /// How many flushes were asked for.
    var flushes: Int { lock.withLock { flushCount } }

    /// The next flush throws a sync error (once).
    func failNextSync() { lock.withLock { failNextFlush = true } }

    /// Flushes wait at the gate from now on.
    func holdSyncs() { lock.withLock { holdFlushes = true } }

    /// Waits until a flush is held at the gate.
    func waitForHeldSync() async {
        await withCheckedContinuation { continuation in
            lock.withLock {
                if held.isEmpty { holdWaiters.append(continuation) } else { continuation.resume() }
            }
        }
    }

    /// Lets the held flushes go on; later ones pass too unless `holdingLater`.
    func releaseSyncs(holdingLater: Bool = false) {
        let released = lock.withLock {
            holdFlushes = holdingLater
            defer { held = [] }
            return held
        }
        for continuation in released { continuation.resume() }
    }

    func flush() async throws {
        let (fail, hold) = lock.withLock {
            flushCount += 1
            defer { failNextFlush = false }
            return (failNextFlush, holdFlushes)
        }
        if hold {
            await withCheckedContinuation { continuation in
                let waiters = lock.withLock {
                    held.append(continuation)
                    defer { holdWaiters = [] }
                    return holdWaiters
                }
                for waiter in waiters { waiter.resume() }
            }
        }
        if fail { throw StorageError(errno: EIO, operation: .sync, path: "data.bin") }
        try await base.flush()
    }

    func prepare() async throws { try await base.prepare() }
    func write(piece: PieceIndex, begin: Int, bytes: [UInt8]) async throws {
        try await base.write(piece: piece, begin: begin, bytes: bytes)
    }
    func write(piece: PieceIndex, from buffer: PieceBuffer) async throws {
        try await base.write(piece: piece, from: buffer)
    }
    func writeIfVerified(piece: PieceIndex, from buffer: PieceBuffer, expected: [UInt8]) async throws -> Bool {
        try await base.writeIfVerified(piece: piece, from: buffer, expected: expected)
    }
    func read(piece: PieceIndex, begin: Int, length: Int) async throws -> [UInt8] {
        try await base.read(piece: piece, begin: begin, length: length)
    }
    func hashPiece(_ piece: PieceIndex) async throws -> PieceDigest { try await base.hashPiece(piece) }
    func requireSync(of pieces: [PieceIndex]) async { await base.requireSync(of: pieces) }
    func startWriteback() async { await base.startWriteback() }
    func close() async { await base.close() }
    func currentFileStats() async -> [FileIndex: FileStat]? { await base.currentFileStats() }
    func takeWrittenFileStats() async throws -> [FileStat] { try await base.takeWrittenFileStats() }
}
