import Engine
import Foundation
import Testing

@testable import Store

@Suite(.timeLimit(.minutes(5))) struct ResolveTests {
    /// Three torrents: 1 and 2 share the v1 prefix `abcd12`; 3 is hybrid with a v2 starting `abcd99`.
    static func store() throws -> BtqStore {
        let store = try BtqStore.inMemory()
        _ = try store.adder.add(
            Fixtures.new(
                Fixtures.metainfo(seed: 1, hashes: InfoHashes(v1: Fixtures.v1(seed: 1, prefix: "abcd12a"), v2: nil)!)))
        _ = try store.adder.add(
            Fixtures.new(
                Fixtures.metainfo(seed: 2, hashes: InfoHashes(v1: Fixtures.v1(seed: 2, prefix: "abcd12b"), v2: nil)!)))
        _ = try store.adder.add(
            Fixtures.new(
                Fixtures.metainfo(
                    seed: 3,
                    hashes: InfoHashes(
                        v1: Fixtures.v1(seed: 3, prefix: "0123"), v2: Fixtures.v2(seed: 3, prefix: "abcd99"))!,
                    version: .hybrid)))
        return store
    }

    @Test func byListId() throws {
        let store = try Self.store()
        #expect(try store.queries.resolve("2").id == 2)
        #expect(try store.queries.resolve(" 3 ").id == 3)
    }

    @Test func byUniquePrefixOfEitherHashInAnyCase() throws {
        let store = try Self.store()
        #expect(try store.queries.resolve("abcd12a").id == 1)
        #expect(try store.queries.resolve("ABCD12B").id == 2)
        #expect(try store.queries.resolve("abcd99").id == 3)
        #expect(try store.queries.resolve("0123").id == 3)
        let full = try #require(try store.queries.torrent(id: 3)?.infoHashV2)
        #expect(try store.queries.resolve(full.uppercased()).id == 3)
    }

    @Test(arguments: ["abcd", "ABCD1", "abcd12"])
    func ambiguousPrefix(_ reference: String) throws {
        let store = try Self.store()
        let error = #expect(throws: StoreError.self) { try store.queries.resolve(reference) }
        #expect(error?.code == .ambiguous)
        #expect(error?.description.contains("matches") == true)
    }

    @Test(arguments: ["99", "abc", "ffff", "zzzz", "", "abcd12a!", "-1"])
    func notFound(_ reference: String) throws {
        let store = try Self.store()
        let error = #expect(throws: StoreError.self) { try store.queries.resolve(reference) }
        #expect(error?.code == .notFound)
    }

    @Test func removedTorrentsOnlyWhenAsked() throws {
        let store = try Self.store()
        try store.queue.remove(torrentId: 1, purge: false)
        #expect(try store.queries.resolve("abcd12").id == 2)  // no longer ambiguous
        #expect(throws: StoreError.self) { try store.queries.resolve("1") }
        #expect(try store.queries.resolve("1", includeRemoved: true).id == 1)
        #expect(throws: StoreError.self) { try store.queries.resolve("abcd12", includeRemoved: true) }
    }
}
