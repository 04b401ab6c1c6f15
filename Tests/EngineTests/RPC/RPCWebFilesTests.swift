import Foundation
import Testing

@testable import Engine

/// The web interface's files: only regular files beneath its folder.
@Suite struct RPCWebFilesTests {
    @Test func onlyFilesBeneathTheFolderAreServed() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("btq-web-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let web = base.appendingPathComponent("web")
        try FileManager.default.createDirectory(at: web.appendingPathComponent("js"), withIntermediateDirectories: true)
        try Data("<html>".utf8).write(to: web.appendingPathComponent("index.html"))
        try Data("x()".utf8).write(to: web.appendingPathComponent("js/a b.js"))
        try Data("secret".utf8).write(to: base.appendingPathComponent("secret.txt"))
        try Data(".".utf8).write(to: web.appendingPathComponent(".hidden"))
        try FileManager.default.createSymbolicLink(
            at: web.appendingPathComponent("out.txt"), withDestinationURL: base.appendingPathComponent("secret.txt"))
        let files = try #require(RPCWebFiles(folder: web.path))
        #expect(files.file(at: "")?.bytes == Array("<html>".utf8))
        #expect(files.file(at: "")?.contentType.hasPrefix("text/html") == true)
        #expect(files.file(at: "js/a%20b.js")?.contentType.hasPrefix("application/javascript") == true)
        for refused in [
            "../secret.txt", "js/../../secret.txt", "%2e%2e/secret.txt", "out.txt", ".hidden", "js",
            "missing.html", "index.html%00.js",
        ] {
            #expect(files.file(at: refused) == nil, "\(refused)")
        }
        #expect(RPCWebFiles(folder: base.appendingPathComponent("none").path) == nil)
    }
}
