import Engine
import Foundation
import GRDB
import Testing

@testable import Store

/// Values btq never writes, put there with raw SQL, are ``StoreError`` `.damagedDatabase` naming the
/// torrent wherever the store reads them (the daemon's resume path included), never a trap.
@Suite(.timeLimit(.minutes(5))) struct DamagedRowTests {
    /// A store with one torrent of 4 pieces (63,000 bytes in 16 KiB pieces); its id.
    static func store() throws -> (BtqStore, Int64) {
        let store = try BtqStore.inMemory()
        guard case .added(let record) = try store.adder.add(Fixtures.new(Fixtures.metainfo(seed: 7))) else {
            throw StoreError.invalidValue("not added")
        }
        return (store, record.id)
    }

    static func damage(_ store: BtqStore, _ sql: String) throws {
        try store.writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: sql)
            try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        }
    }

    static func expectDamaged(
        _ id: Int64, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch let error as StoreError {
            #expect(error.code == .damagedDatabase, "\(error)", sourceLocation: sourceLocation)
            let text = error.description
            for word in ["torrent \(id)"] + words {
                #expect(text.contains(word), "'\(word)' missing from: \(text)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func aBitfieldOfTheWrongLengthIsRefusedOnResume() throws {
        let (store, id) = try Self.store()
        try Self.damage(
            store,
            "INSERT INTO piece_bitfields (torrent_id, piece_count, verified, updated_at) VALUES (\(id), 4, x'0000', 0)")
        Self.expectDamaged(id, ["verified", "piece_bitfields", "2 bytes"]) {
            _ = try store.progress.resumeState(torrentId: id)
        }
        Self.expectDamaged(id, ["verified"]) { _ = try store.queries.files(torrentId: id) }
    }

    @Test func aBitfieldOfAnotherPieceCountIsRefusedBeforeAWrite() throws {
        let (store, id) = try Self.store()
        try Self.damage(
            store,
            "INSERT INTO piece_bitfields (torrent_id, piece_count, verified, updated_at) VALUES (\(id), 2, x'00', 0)")
        Self.expectDamaged(id, ["piece_count", "piece_bitfields"]) {
            try store.progress.saveProgress(
                ProgressBatch(torrents: [TorrentProgress(torrentId: id, pieces: [3: true])]))
        }
        Self.expectDamaged(id, ["piece_count"]) { _ = try store.progress.resumeState(torrentId: id) }
    }

    @Test func aBlockMaskOutsideTheTorrentIsRefused() throws {
        let (store, id) = try Self.store()
        try Self.damage(
            store,
            """
            INSERT INTO block_masks (torrent_id, piece_index, block_count, mask, updated_at)
            VALUES (\(id), 99, 1, x'80', 0)
            """)
        Self.expectDamaged(id, ["piece_index", "block_masks", "99"]) {
            _ = try store.progress.resumeState(torrentId: id)
        }
    }

    @Test func countersOfTheWrongTypeOrSignAreRefused() throws {
        let (store, id) = try Self.store()
        try Self.damage(store, "UPDATE torrents SET downloaded = -3 WHERE id = \(id)")
        Self.expectDamaged(id, ["downloaded", "-3"]) { _ = try store.progress.resumeState(torrentId: id) }
        Self.expectDamaged(id, ["downloaded"]) { _ = try store.queries.torrents() }
        Self.expectDamaged(id, ["downloaded"]) { _ = try store.listing.queueLines() }
        try Self.damage(store, "UPDATE torrents SET downloaded = 0, piece_length = 'big' WHERE id = \(id)")
        Self.expectDamaged(id, ["piece_length", "text"]) { _ = try store.queries.torrent(id: id) }
        // The list reads SQLite's columns directly: the same refusals.
        Self.expectDamaged(id, ["piece_length", "text"]) { _ = try store.queries.torrents() }
        try Self.damage(store, "UPDATE torrents SET piece_length = 16384, name = x'07' WHERE id = \(id)")
        Self.expectDamaged(id, ["name", "BLOB"]) { _ = try store.queries.torrents() }
        try Self.damage(store, "UPDATE torrents SET name = 'n', pieces_done = piece_count + 1 WHERE id = \(id)")
        Self.expectDamaged(id, ["pieces_done", "out of"]) { _ = try store.queries.torrents() }
        try Self.damage(store, "UPDATE torrents SET pieces_done = 0 WHERE id = \(id)")
        try Self.damage(store, "UPDATE torrents SET piece_length = 16384, seeding_seconds = -1 WHERE id = \(id)")
        Self.expectDamaged(id, ["seeding_seconds"]) { _ = try store.limits.seedingSeconds(torrentId: id) }
        Self.expectDamaged(id, ["seeding_seconds"]) { _ = try store.ports.workedFigures(torrentIds: [id]) }
    }

    @Test func recordedFileStatesOfTheWrongTypeAreRefused() throws {
        let (store, id) = try Self.store()
        try Self.damage(
            store,
            """
            INSERT INTO file_state (torrent_id, file_index, recorded_size, recorded_mtime_ns)
            VALUES (\(id), 0, 'x', 1)
            """)
        Self.expectDamaged(id, ["recorded_size", "file_state"]) { _ = try store.progress.resumeState(torrentId: id) }
    }

    @Test func anUndamagedStoreReadsAsBefore() throws {
        let (store, id) = try Self.store()
        try store.progress.saveProgress(ProgressBatch(torrents: [TorrentProgress(torrentId: id, pieces: [1: true])]))
        let state = try #require(try store.progress.resumeState(torrentId: id))
        #expect(state.verified.contains(1))
        #expect(try store.queries.files(torrentId: id).map(\.bytesDone) == [16384, 0])
        #expect(try store.queries.torrent(id: id)?.piecesDone == 1)
    }
}
