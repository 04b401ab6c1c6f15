import Foundation
import Glibc
import Testing

@testable import Engine

/// Nothing a torrent names resolves outside its download folder, and only regular files are used
/// (``DownloadFolder``). Every case builds the trap in a temporary folder: a symlinked folder or file
/// pointing outside, a FIFO in a file's place, a folder where a file should be.
@Suite(.timeLimit(.minutes(5))) struct DownloadFolderTests {
    /// A save folder and an outside folder holding `outside/secret` ("secret"), side by side.
    static func withTrap(_ body: (_ save: String, _ outside: String) async throws -> Void) async throws {
        try await withTemporaryFolder { root in
            let save = root + "/save"
            let outside = root + "/outside"
            try FileManager.default.createDirectory(atPath: save + "/t", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: outside + "/secret", contents: Data("secret".utf8)))
            try await body(save, outside)
        }
    }

    static let files = makeFiles([("t/a.txt", 6), ("t/sub/b.bin", 10)])
    static let layout = PieceLayout(pieceLength: 16_384, totalLength: 16)

    @Test func aRelativeSymlinkedParentFolderCannotLeadOutside() async throws {
        try await Self.withTrap { save, outside in
            try FileManager.default.createSymbolicLink(atPath: save + "/t/sub", withDestinationPath: "../../outside")
            let storage = FileStorage(saveFolder: save, files: Self.files, layout: Self.layout)
            let error = await #expect(throws: StorageError.self) { try await storage.prepare() }
            #expect(error?.reason == .outsideSaveFolder)
            #expect(error?.path.hasSuffix("t/sub") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["secret"])
            // Nor is anything behind the link read or checked.
            #expect(FileManager.default.createFile(atPath: outside + "/b.bin", contents: Data(count: 10)))
            let readError = await #expect(throws: StorageError.self) {
                _ = try await storage.read(piece: 0, begin: 6, length: 10)
            }
            #expect(readError?.reason == .outsideSaveFolder)
            #expect(await storage.currentFileStats()?[FileIndex(1)] == nil)
            #expect(!storage.hasAllocatedData(FileIndex(1)))
            await storage.close()
        }
    }

    @Test func aSymlinkedFilePointingOutsideIsNeitherOpenedNorCreated() async throws {
        try await Self.withTrap { save, outside in
            try FileManager.default.createSymbolicLink(
                atPath: save + "/t/a.txt", withDestinationPath: outside + "/secret")
            let storage = FileStorage(saveFolder: save, files: Self.files, layout: Self.layout)
            let error = await #expect(throws: StorageError.self) { try await storage.prepare() }
            #expect(error?.reason == .notRegularFile)
            #expect(error?.path == save + "/t/a.txt")
            await #expect(throws: StorageError.self) { try await storage.write(piece: 0, begin: 0, bytes: [1, 2]) }
            await #expect(throws: StorageError.self) { _ = try await storage.read(piece: 0, begin: 0, length: 6) }
            #expect(await storage.currentFileStats()?[FileIndex(0)] == nil)
            #expect(FileManager.default.contents(atPath: outside + "/secret") == Data("secret".utf8))
            await storage.close()
        }
    }

    @Test func aFIFOOrAFolderInAFilesPlaceIsRefusedWithoutBlocking() async throws {
        try await Self.withTrap { save, _ in
            #expect(mkfifo(save + "/t/a.txt", 0o644) == 0)
            let storage = FileStorage(saveFolder: save, files: Self.files, layout: Self.layout)
            let error = await #expect(throws: StorageError.self) { try await storage.prepare() }
            #expect(error?.reason == .notRegularFile)
            #expect(error?.path == save + "/t/a.txt")
            let readError = await #expect(throws: StorageError.self) {
                _ = try await storage.read(piece: 0, begin: 0, length: 6)
            }
            #expect(readError?.reason == .notRegularFile)
            #expect(await storage.currentFileStats()?[FileIndex(0)] == nil)
            await storage.close()

            try FileManager.default.removeItem(atPath: save + "/t/a.txt")
            try FileManager.default.createDirectory(atPath: save + "/t/a.txt", withIntermediateDirectories: false)
            let again = FileStorage(saveFolder: save, files: Self.files, layout: Self.layout)
            let folderError = await #expect(throws: StorageError.self) { try await again.prepare() }
            #expect(folderError?.reason == .notRegularFile)
            await again.close()
        }
    }

    @Test func aTorrentsSymlinkThatWouldLeadOutsideIsNotLeftInPlace() async throws {
        try await Self.withTrap { save, outside in
            // Someone made t/out a link to the outside folder; the torrent's link points through it.
            try FileManager.default.createSymbolicLink(atPath: save + "/t/out", withDestinationPath: outside)
            let files = makeFiles(
                [("t/data", 6), ("t/links/through", 0), ("t/links/inside", 0)],
                links: [1: "t/out/secret", 2: "t/data"])
            let storage = FileStorage(
                saveFolder: save, files: files, layout: PieceLayout(pieceLength: 16_384, totalLength: 6))
            try await storage.prepare()
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: save + "/t/links/through")) == nil)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: save + "/t/links/inside") == "../data")
            #expect(FileManager.default.contents(atPath: outside + "/secret") == Data("secret".utf8))
            await storage.close()
        }
    }

    @Test func removingNeverFollowsALinkOut() async throws {
        try await Self.withTrap { save, outside in
            let folder = DownloadFolder(path: save)
            // A link in a file's place goes; what it points to stays.
            try FileManager.default.createSymbolicLink(
                atPath: save + "/t/a.txt", withDestinationPath: outside + "/secret")
            #expect(try folder.removeFile(["t", "a.txt"]))
            #expect(fileSize(save + "/t/a.txt") == nil)
            #expect(FileManager.default.contents(atPath: outside + "/secret") == Data("secret".utf8))
            // A linked folder is not entered, even to a file of the torrent's name.
            try FileManager.default.createSymbolicLink(atPath: save + "/t/sub", withDestinationPath: outside)
            let error = #expect(throws: StorageError.self) { try folder.removeFile(["t", "sub", "secret"]) }
            #expect(error?.reason == .outsideSaveFolder)
            #expect(!folder.removeFolderIfEmpty(["t", "sub"]))
            #expect(FileManager.default.contents(atPath: outside + "/secret") == Data("secret".utf8))
            // A folder in a file's place is not emptied.
            try FileManager.default.createDirectory(atPath: save + "/t/c", withIntermediateDirectories: false)
            #expect(FileManager.default.createFile(atPath: save + "/t/c/inner", contents: Data("x".utf8)))
            let folderError = #expect(throws: StorageError.self) { try folder.removeFile(["t", "c"]) }
            #expect(folderError?.reason == .notRegularFile)
            #expect(fileSize(save + "/t/c/inner") == 1)
            #expect(try !folder.removeFile(["t", "missing"]))
            #expect(throws: StorageError.self) { try folder.removeFile(["t", "..", "..", "outside", "secret"]) }
            #expect(FileManager.default.contents(atPath: outside + "/secret") == Data("secret".utf8))
        }
    }

    @Test func theWalkWithoutOpenat2RefusesEveryLinkOnTheWay() async throws {
        try await Self.withTrap { save, outside in
            try FileManager.default.createDirectory(atPath: save + "/t/real", withIntermediateDirectories: false)
            #expect(FileManager.default.createFile(atPath: save + "/t/real/f", contents: Data("f".utf8)))
            try FileManager.default.createSymbolicLink(atPath: save + "/t/out", withDestinationPath: outside)
            try FileManager.default.createSymbolicLink(atPath: save + "/t/in", withDestinationPath: "real")
            let root = open(save, DownloadFolder.openPath | O_DIRECTORY | O_CLOEXEC)
            #expect(root >= 0)
            defer { close(root) }
            let plain = DownloadFolder.walk(root: root, ["t", "real", "f"], flags: O_RDONLY | O_CLOEXEC, mode: 0)
            #expect(plain >= 0)
            if plain >= 0 { close(plain) }
            #expect(DownloadFolder.walk(root: root, ["t", "out", "secret"], flags: O_RDONLY, mode: 0) == -EXDEV)
            #expect(DownloadFolder.walk(root: root, ["t", "in", "f"], flags: O_RDONLY, mode: 0) == -EXDEV)
            #expect(
                DownloadFolder.walk(
                    root: root, ["t", "out"], flags: DownloadFolder.openPath | O_DIRECTORY | O_CLOEXEC, mode: 0)
                    == -EXDEV)
            // With openat2, a link that stays inside is followed; one that leaves is not.
            if DownloadFolder.hasOpenat2 {
                let inside = DownloadFolder.resolve(
                    root: root, ["t", "in", "f"], flags: O_RDONLY | O_CLOEXEC, mode: 0, noSymlinks: false)
                #expect(inside >= 0)
                if inside >= 0 { close(inside) }
                #expect(
                    DownloadFolder.resolve(
                        root: root, ["t", "out", "secret"], flags: O_RDONLY, mode: 0, noSymlinks: false)
                        == -EXDEV)
            }
        }
    }
}
