import Foundation
import Testing

@testable import Engine

/// Walks the shared corpus manifest: every `accept` row loads with safe paths and its listed facts,
/// every `reject` row fails with the matching typed error.
@Suite(.timeLimit(.minutes(5))) struct ConformanceTests {
    /// The reference client's error names, mapped to btq's categories (all map one to one).
    static let categories: [String: MetainfoError.Category] = [
        "invalid_bencoding": .invalidBencoding,
        "depth_exceeded": .depthExceeded,
        "torrent_is_no_dict": .isNotADictionary,
        "torrent_missing_info": .missingInfo,
        "torrent_missing_name": .missingName,
        "torrent_invalid_name": .invalidName,
        "torrent_missing_piece_length": .missingPieceLength,
        "torrent_missing_pieces": .missingPieces,
        "torrent_invalid_hashes": .invalidHashes,
        "torrent_invalid_length": .invalidLength,
        "no_files_in_torrent": .noFiles,
        "too_many_pieces_in_torrent": .tooManyPieces,
        "too_many_duplicate_filenames": .tooManyDuplicateFilenames,
        "torrent_file_parse_failed": .fileParseFailed,
        "torrent_invalid_pad_file": .invalidPadFile,
        "torrent_missing_pieces_root": .missingPiecesRoot,
        "torrent_invalid_piece_layer": .invalidPieceLayer,
        "torrent_inconsistent_files": .inconsistentFiles,
    ]

    @Test func everyManifestRowAgrees() throws {
        var accepted = 0
        var rejected = 0
        var unlisted = 0
        for row in ConformanceCorpus.rows {
            let bytes = ConformanceCorpus.bytes(row.file)
            switch row.expect {
            case "accept":
                do {
                    let metainfo = try Metainfo(bytes: bytes)
                    Self.expectSafeLayout(metainfo, row.file)
                    try Self.checkFacts(row.file, metainfo)
                    accepted += 1
                } catch {
                    Issue.record("\(row.file) must load: \(error)")
                }
            case "reject":
                do {
                    _ = try Metainfo(bytes: bytes)
                    Issue.record("\(row.file) must be refused (\(row.referenceError))")
                } catch let error as MetainfoError {
                    let expected = try #require(Self.categories[row.referenceError], "unmapped \(row.referenceError)")
                    #expect(error.category == expected, "\(row.file): \(error.category) (\(error.message))")
                    if error.category == expected { rejected += 1 }
                } catch {
                    Issue.record("\(row.file) threw an untyped error \(error)")
                }
            default:
                // No expectation; whatever happens, it must be a clean result or a typed error.
                do {
                    let metainfo = try Metainfo(bytes: bytes)
                    Self.expectSafeLayout(metainfo, row.file)
                    print(
                        "conformance: unlisted \(row.file) loads (\(metainfo.version), \(metainfo.files.count) files)")
                } catch let error as MetainfoError {
                    print("conformance: unlisted \(row.file) is refused: \(error.category): \(error.message)")
                } catch {
                    Issue.record("\(row.file) threw an untyped error \(error)")
                }
                unlisted += 1
            }
        }
        let agreed = accepted + rejected
        print("conformance: \(agreed) rows agree (\(accepted) accept, \(rejected) reject), \(unlisted) unlisted")
        #expect(agreed == 104)
    }

    /// Paths and symlink targets stay inside the download folder; offsets are contiguous.
    static func expectSafeLayout(_ metainfo: Metainfo, _ file: String) {
        var offset: Int64 = 0
        for torrentFile in metainfo.files {
            expectSafe(torrentFile.path, file)
            if let target = torrentFile.symlinkTarget { expectSafe(target, "\(file) symlink") }
            #expect(torrentFile.offset == offset, "\(file): \(torrentFile.displayPath) offset")
            offset += torrentFile.length
        }
        #expect(offset == metainfo.totalLength)
        #expect(
            metainfo.pieceCount
                == Int((metainfo.totalLength + Int64(metainfo.pieceLength) - 1) / Int64(metainfo.pieceLength)))
    }

    static func checkFacts(_ file: String, _ m: Metainfo) throws {
        let paths = m.files.map(\.displayPath)
        switch file {
        case "absolute_filename.torrent":
            #expect(paths == ["temp/abcde", "temp/foobar"])
        case "collection.torrent", "collection2.torrent":
            #expect(m.collections == ["bar", "foo"])
        case "creation_date.torrent":
            #expect(m.creationDate == 1_234_567)
        case "dht_nodes.torrent":
            #expect(m.dhtNodes == ["127.0.0.1:6881", "192.168.1.1:6881"])
        case "duplicate_files.torrent":
            #expect(paths == ["temp/foo/bar.txt", "temp/foo/bar.1.txt"])
        case "duplicate_web_seeds.torrent":
            #expect(m.webSeeds.count == 3)
        case "invalid_directory_name.torrent":
            // `/` and `\` both sanitize to `_`, so the second file collides and is renamed.
            #expect(paths == ["test2/_/foo", "test2/_/foo.1"])
        case "invalid_filename.torrent":
            // A `.` element becomes `_` (as in current libtorrent; older versions dropped it): every
            // element keeps its place, and a path can never collapse onto its folder.
            #expect(paths == ["est2/f", "est2/_"])
        case "invalid_filename2.torrent":
            #expect(paths == ["est2/f", "est2/_/_", "est2/_/_.1"])
        case "invalid_name2.torrent":
            #expect(m.name == "b61560c2918f463768cd122b6d2fdd47b77bdb35")
            #expect(m.infoHashes.v1?.hex == "b61560c2918f463768cd122b6d2fdd47b77bdb35")
        case "invalid_name3.torrent":
            #expect(m.name == "foobar ")
        case "large_piece_size.torrent":
            #expect(m.pieceLength == 32767 * 16384)
        case "no_creation_date.torrent":
            #expect(m.creationDate == nil)
        case "pad_file.torrent", "pad_file_no_path.torrent":
            #expect(m.files.count == 2)
            #expect(m.files.map(\.isPad) == [false, true])
        case "similar.torrent", "similar2.torrent":
            #expect(m.similarTorrents.count == 1)
        case "slash_path.torrent":
            #expect(paths == ["temp/_/_/bar"])
        case "slash_path2.torrent":
            #expect(paths == ["temp/abc....def/_/bar"])
        case "slash_path3.torrent":
            #expect(paths == ["temp....abc"])
            #expect(!m.isMultiFile)
        case "symlink1.torrent", "symlink_zero_size.torrent":
            #expect(m.files.count == 2)
            #expect(m.files[1].attributes.contains(.symlink))
            #expect(m.files[1].symlinkTarget == ["temp", "a", "b", "bar"])
            #expect(m.files[1].length == 0)
        case "symlink2.torrent":
            #expect(m.files.count == 5)
            #expect(m.files.filter { $0.attributes.contains(.symlink) }.count == 2)
        case "symlink_filtered_path.torrent":
            #expect(paths == ["temp/a/_/bar", "temp/a/_/foo"])
            #expect(m.files[1].symlinkTarget == ["temp", "a", "_", "bar"])
        case "url_seed.torrent":
            #expect(m.webSeeds == ["http://test.com/file"])
        case "url_seed_multi.torrent":
            #expect(m.webSeeds == ["http://test.com/file/"])
        case "url_seed_multi_single_file.torrent":
            #expect(m.webSeeds == ["http://test.com/file/temp/foo/bar.txt"])
        case "url_seed_multi_space.torrent", "url_seed_multi_space_nolist.torrent":
            #expect(m.webSeeds == ["http://test.com/test%20file/foo%20bar/"])
        case "v2.torrent":
            #expect(m.version == .hybrid)
            #expect(paths == ["test64K"])
            #expect(m.files[0].length == 65536)
            #expect(m.infoHashes.v2?.hex == "597b180c1a170a585dfc5e85d834d69013ceda174b8f357d5bb1a0ca509faf0a")
            #expect(
                m.files[0].piecesRoot.map(HexCoding.encode)
                    == "60aae9c7b428f87e0713e88229e18f0adf12cd7b22a0dd8a92bb2485eb7af242")
        case "v2_hybrid.torrent":
            #expect(m.version == .hybrid)
            #expect(m.infoHashes.v1 != nil && m.infoHashes.v2 != nil)
            #expect(m.pieceLayers.count == 8)
        case "v2_incomplete_piece_layer.torrent":
            #expect(m.version == .v2)
            #expect(m.pieceLayers.count == 2)
        case "v2_invalid_filename.torrent":
            #expect(paths == ["_estMB"])
        case "v2_invalid_filename2.torrent":
            #expect(m.files.filter { !$0.isPad }.count == 3)
            #expect(paths.filter { !$0.contains(".pad") } == ["test/_", "test/_.1", "test/stress_test2"])
        case "v2_multipiece_file.torrent":
            #expect(m.version == .hybrid)
            #expect(paths == ["test1MB"])
            #expect(m.files[0].length == 1_048_576)
            #expect(m.infoHashes.v2?.hex == "108ac2c3718ce722e6896edc56c4afa98f1d711ecaace7aad74fca418ebd03de")
        case "v2_multiple_files.torrent":
            #expect(m.version == .v2)
            #expect(m.files.count == 5)
        case "v2_no_piece_layers.torrent":
            #expect(m.version == .v2)
            #expect(m.pieceLayers.isEmpty)
        case "v2_only.torrent":
            #expect(m.version == .v2)
            #expect(m.infoHashes.v1 == nil)
            #expect(paths == ["test1MB"])
            #expect(m.files[0].length == 1_048_576)
            #expect(m.infoHashes.v2?.hex == "95e04d0c4bad94ab206efa884666fd89777dbe4f7bd9945af1829037a85c6192")
            #expect(m.pieceLayers.count == 1)
        case "v2_symlinks.torrent":
            #expect(m.version == .v2)
            #expect(m.files.contains { $0.attributes.contains(.symlink) })
        case "whitespace_url.torrent":
            #expect(m.trackerTiers == [["udp://test.com/announce"]])
        default:
            break
        }
    }
}
