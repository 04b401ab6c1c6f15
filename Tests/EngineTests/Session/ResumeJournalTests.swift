import Foundation
import Glibc
import TestSupport
import Testing

@testable import Engine

/// The progress journal and resuming: what the session records while it downloads, and what it believes
/// of the record when it starts again. Real sockets on 127.0.0.1 and fake seeds; storage in memory or
/// in a temporary folder.
@Suite(.timeLimit(.minutes(5))) struct ResumeJournalTests {
    static func configuration() -> SessionConfiguration {
        var configuration = SessionConfiguration(
            listenPort: 1, tickInterval: .milliseconds(50), reconnectDelay: .milliseconds(100),
            journalInterval: .milliseconds(20), checkpointInterval: .milliseconds(100))
        configuration.failedReconnectDelay = .milliseconds(100)
        return configuration
    }

    /// Bytes the store vouches for: verified pieces and recorded blocks.
    static func recordedBytes(_ state: ResumeState, layout: PieceLayout) -> Int {
        let pieces = state.verified.setIndices.reduce(0) { $0 + layout.length(of: PieceIndex($1)) }
        var blocks = 0
        for (piece, mask) in state.blockMasks {
            for block in mask.setIndices { blocks += layout.blockLength(piece: piece, block: BlockIndex(block)) }
        }
        return pieces + blocks
    }

    @Test func blocksOfUnfinishedPiecesAreJournaledAndNotFetchedAgain() async throws {
        let fixture = SessionFixture(length: 6 * 65_536, pieceLength: 65_536, seed: 21)
        let layout = PieceLayout(fixture.metainfo)
        let hash = fixture.metainfo.infoHashes.wireHash
        let stingy = try await FakeSeed(
            infoHash: hash, content: fixture.content, pieceLength: 65_536, blockBudget: 7)
        let storage = MemoryStorage(metainfo: fixture.metainfo)
        let store = MemoryResumeStore(pieceCount: layout.pieceCount)
        let first = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: Self.configuration(), resume: store,
            torrentId: 1)
        await first.addPeers([stingy.address], source: .manual)
        async let firstOutcome = first.run()
        // While it still runs, the journal records every block it got, including those of unfinished pieces.
        let journaled = try await poll(timeout: .seconds(60), interval: .milliseconds(10)) {
            Self.recordedBytes(store.snapshot, layout: layout) == 7 * 16_384
        }
        #expect(journaled)
        #expect(!store.snapshot.blockMasks.isEmpty)
        await first.stop()
        #expect(await firstOutcome == .stopped)
        await stingy.close()

        // Nothing recorded is a lie: the bytes of every recorded piece and block are in storage.
        let state = store.snapshot
        let data = try #require(await storage.contents(of: FileIndex(0)))
        for piece in state.verified.setIndices {
            let range = piece * 65_536..<(piece + 1) * 65_536
            #expect(Array(data[range]) == Array(fixture.content[range]))
        }
        for (piece, mask) in state.blockMasks {
            for block in mask.setIndices {
                let start = piece.value * 65_536 + block * 16_384
                #expect(Array(data[start..<start + 16_384]) == Array(fixture.content[start..<start + 16_384]))
            }
        }
        #expect(state.durableVerified == state.verified)
        #expect(state.durableBlockMasks == state.blockMasks)

        let seed = try await FakeSeed(infoHash: hash, content: fixture.content, pieceLength: 65_536)
        let second = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: Self.configuration(), resume: store,
            torrentId: 1)
        await second.addPeers([seed.address], source: .manual)
        #expect(await second.run() == .completed)
        await seed.close()
        #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
        #expect(await second.status().downloaded - state.totals.downloaded == Int64(fixture.content.count - 7 * 16_384))
        #expect(await second.bytesReadAtStart == 0)
        #expect(store.snapshot.blockMasks.isEmpty)
        #expect(store.snapshot.verified.isAll)
    }

    @Test func afterAPowerLossOnlyTheDurableProgressIsTrusted() async throws {
        let fixture = SessionFixture(length: 4 * 32_768, pieceLength: 32_768, seed: 22)
        let layout = PieceLayout(fixture.metainfo)
        for distrust in [true, false] {
            let storage = MemoryStorage(metainfo: fixture.metainfo)
            try await storage.prepare()
            // Pieces 0 and 1 were synced before the last checkpoint; 2 and 3 were recorded after it, and their
            // bytes died with the page cache.
            try await storage.write(piece: 0, begin: 0, bytes: Array(fixture.content[0..<32_768]))
            try await storage.write(piece: 1, begin: 0, bytes: Array(fixture.content[32_768..<65_536]))
            let store = MemoryResumeStore(pieceCount: layout.pieceCount)
            store.overwrite { state in
                state.verified = Bitfield(pattern: "1111")!
                state.durableVerified = Bitfield(pattern: "1100")!
                state.checkpointAt = Timestamp(rawValue: 1_000_000)
                state.recordedAt = Timestamp(rawValue: 1_002_000)
            }
            let crash = ResumePolicy.UncleanStop(
                bootId: "earlier boot", startedAt: Timestamp(rawValue: 900_000),
                lastSeenAt: Timestamp(rawValue: 1_004_000))
            let policy = distrust ? ResumePolicy(bootId: "this boot", uncleanStops: [crash]) : .cleanHistory
            let seed = try await FakeSeed(
                infoHash: fixture.metainfo.infoHashes.wireHash, content: fixture.content, pieceLength: 32_768)
            let session = TorrentSession(
                metainfo: fixture.metainfo, storage: storage, configuration: Self.configuration(), resume: store,
                torrentId: 1, resumePolicy: policy)
            await session.addPeers([seed.address], source: .manual)
            #expect(await session.run() == .completed)
            await seed.close()
            if distrust {
                #expect(await storage.contents(of: FileIndex(0)) == fixture.content)
                #expect(await session.status().downloaded == 2 * 32_768)
                #expect(await session.bytesReadAtStart == 2 * 32_768)
                #expect(store.events.contains { $0.kind == .checked && $0.detail?.contains("distrusted") == true })
            } else {
                // Without the boot change the record is believed as it stands (a process crash keeps the page
                // cache): nothing is read or fetched.
                #expect(await session.status().downloaded == 0)
                #expect(await session.bytesReadAtStart == 0)
            }
        }
    }

    @Test func aFileChangedBehindBtqsBackHasOnlyItsPiecesRechecked() async throws {
        let fixture = SessionFixture(files: Self.threeFiles, pieceLength: 32_768, seed: 23)
        try await withTemporaryFolder { folder in
            let (store, seed) = try await Self.storeAndSeed(fixture)
            defer { Task { await seed.close() } }
            try await download(
                fixture, folder: folder, store: store, seed: seed, expectDownloaded: fixture.content.count)
            #expect(store.snapshot.files.count == 3)

            // Unchanged: resuming reads nothing.
            try await download(fixture, folder: folder, store: store, seed: seed, expectDownloaded: 0, expectRead: 0)

            // One byte inside b.bin's second piece (piece 4 of the torrent) is overwritten behind btq's back.
            let path = folder + "/tree/b.bin"
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            try handle.seek(toOffset: 40_000)
            let original = fixture.content[3 * 32_768 + 40_000]
            try handle.write(contentsOf: [original ^ 0xFF])
            try handle.close()
            let recorded = try #require(store.snapshot.files.first { $0.index == FileIndex(1) })
            if try mtimeNanoseconds(path) == recorded.modificationTimeNanoseconds {
                // A file system with coarse timestamps: make the change visible as any later edit would be.
                let later = Int(recorded.modificationTimeNanoseconds / 1_000_000_000) + 2
                var times = [timespec(tv_sec: later, tv_nsec: 0), timespec(tv_sec: later, tv_nsec: 0)]
                #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
            }
            // b.bin touches pieces 3 to 6: those four are read again, the damaged one is fetched again.
            try await download(
                fixture, folder: folder, store: store, seed: seed, expectDownloaded: 32_768, expectRead: 4 * 32_768)
            let changed = store.events.filter { $0.kind == .fileChanged }
            #expect(changed.count == 1)
            #expect(changed.first?.detail?.contains("b.bin") == true)
            #expect(changed.first?.detail?.contains("a.bin") == false)
            #expect(changed.first?.detail?.contains("c.bin") == false)

            // a.bin deleted: its pieces come back from the swarm, with an event saying why.
            try FileManager.default.removeItem(atPath: folder + "/tree/a.bin")
            try await download(
                fixture, folder: folder, store: store, seed: seed, expectDownloaded: 3 * 32_768, expectRead: 0)
            #expect(store.events.contains { $0.kind == .dataMissing && $0.detail?.contains("a.bin") == true })
        }
    }

    /// Data put in place (nothing recorded) is read back once, at the first start; from then on its files'
    /// sizes and times vouch for it and a start reads nothing. A file touched behind btq's back (same bytes,
    /// new time) is read back once, then trusted again.
    @Test func dataFoundInPlaceIsReadBackOnceNotAtEveryStart() async throws {
        let fixture = SessionFixture(files: Self.threeFiles, pieceLength: 32_768, seed: 24)
        try await withTemporaryFolder { folder in
            let (store, seed) = try await Self.storeAndSeed(fixture)
            defer { Task { await seed.close() } }
            try FileManager.default.createDirectory(atPath: folder + "/tree", withIntermediateDirectories: true)
            var offset = 0
            for (name, length) in Self.threeFiles {
                try Data(fixture.content[offset..<(offset + length)]).write(
                    to: URL(fileURLWithPath: folder + "/tree/" + name))
                offset += length
            }
            let all = Int64(fixture.content.count)
            try await download(fixture, folder: folder, store: store, seed: seed, expectDownloaded: 0, expectRead: all)
            #expect(store.snapshot.files.count == 3, "the files read back are recorded")
            try await download(fixture, folder: folder, store: store, seed: seed, expectDownloaded: 0, expectRead: 0)
            #expect(store.events.filter { $0.kind == .fileChanged }.isEmpty)

            // c.bin touched: same bytes, a later time. The three pieces it touches (the first shared with b.bin,
            // the last 100 bytes long) are read once, then trusted again.
            let path = folder + "/tree/c.bin"
            let recorded = try #require(store.snapshot.files.first { $0.index == FileIndex(2) })
            let later = Int(recorded.modificationTimeNanoseconds / 1_000_000_000) + 5
            var times = [timespec(tv_sec: later, tv_nsec: 0), timespec(tv_sec: later, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
            try await download(
                fixture, folder: folder, store: store, seed: seed, expectDownloaded: 0, expectRead: 2 * 32_768 + 100)
            try await download(fixture, folder: folder, store: store, seed: seed, expectDownloaded: 0, expectRead: 0)
            #expect(store.events.filter { $0.kind == .fileChanged }.count == 1)
        }
    }

    /// Three files of 32 KiB pieces, the middle one ending 100 bytes into a piece.
    static let threeFiles = [("a.bin", 3 * 32_768), ("b.bin", 3 * 32_768 + 100), ("c.bin", 2 * 32_768)]

    /// An empty resume store for `fixture`, and a fake seed of its content.
    static func storeAndSeed(_ fixture: SessionFixture) async throws -> (MemoryResumeStore, FakeSeed) {
        let store = MemoryResumeStore(pieceCount: PieceLayout(fixture.metainfo).pieceCount)
        let seed = try await FakeSeed(
            infoHash: fixture.metainfo.infoHashes.wireHash, content: fixture.content, pieceLength: 32_768)
        return (store, seed)
    }

    /// Runs a session over `folder` to completion and checks what it fetched and read back.
    private func download(
        _ fixture: SessionFixture, folder: String, store: MemoryResumeStore, seed: FakeSeed, expectDownloaded: Int,
        expectRead: Int64? = nil
    ) async throws {
        let storage = FileStorage(saveFolder: folder, metainfo: fixture.metainfo)
        let before = store.snapshot.totals.downloaded
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: storage, configuration: Self.configuration(), resume: store,
            torrentId: 1)
        await session.addPeers([seed.address], source: .manual)
        #expect(await session.run() == .completed)
        await storage.close()
        #expect(await session.status().downloaded - before == Int64(expectDownloaded))
        if let expectRead { #expect(await session.bytesReadAtStart == expectRead) }
        var data: [UInt8] = []
        for name in ["a.bin", "b.bin", "c.bin"] {
            data += try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/tree/" + name)))
        }
        #expect(data == fixture.content)
        #expect(store.snapshot.verified.isAll)
    }

    private func mtimeNanoseconds(_ path: String) throws -> Int64 {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
        return Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}
