import Foundation
import Testing

/// The shared conformance corpus (libtorrent's test torrents), bundled with the tests.
enum ConformanceCorpus {
    /// One line of `MANIFEST.tsv`.
    struct Row: Sendable, CustomTestStringConvertible {
        var file: String
        var expect: String
        var referenceError: String
        var facts: String

        var testDescription: String { file }
    }

    static let directory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("conformance")

    /// The manifest rows, in file order.
    static let rows: [Row] = {
        let text = try! String(contentsOf: directory.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Row(
                file: columns[0], expect: columns[1], referenceError: columns.count > 2 ? columns[2] : "",
                facts: columns.count > 3 ? columns[3] : "")
        }
    }()

    /// The bytes of one corpus file.
    static func bytes(_ file: String) -> [UInt8] {
        [UInt8](try! Data(contentsOf: directory.appendingPathComponent(file)))
    }

    /// Every corpus torrent's bytes, for the robustness test.
    static let allTorrents: [[UInt8]] = rows.map { bytes($0.file) }
}

/// Checks that a path stays inside the download folder: no empty, `.` or `..` element, no `/`,
/// `\` or NUL inside an element, no element over 255 bytes, not empty, and that joining it under a
/// folder and normalizing it stays under that folder.
func expectSafe(_ path: [String], _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!path.isEmpty, "\(context): empty path", sourceLocation: sourceLocation)
    for element in path {
        let bad =
            element.isEmpty || element == "." || element == ".." || element.utf8.count > 255
            || element.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == 0 })
        #expect(!bad, "\(context): unsafe element \(element.debugDescription)", sourceLocation: sourceLocation)
    }
    let root = URL(fileURLWithPath: "/downloads/btq", isDirectory: true)
    let joined = path.reduce(root) { $0.appendingPathComponent($1) }.standardizedFileURL.path
    #expect(
        joined.hasPrefix(root.path + "/"), "\(context): \(joined) leaves the folder", sourceLocation: sourceLocation)
}
