import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension TestContent {
    /// What ``verify(downloaded:against:only:)`` found.
    struct Report: CustomStringConvertible, Sendable {
        /// Everything wrong, one line each.
        var problems: [String] = []
        /// Files compared.
        var files = 0
        /// Bytes compared.
        var bytes = 0
        /// True when nothing is wrong.
        var isOK: Bool { problems.isEmpty }

        var description: String {
            if isOK { return "OK: \(files) files, \(bytes) bytes identical" }
            let shown = problems.prefix(12).map { "  - \($0)" }.joined(separator: "\n")
            let more = problems.count > 12 ? "\n  ... and \(problems.count - 12) more" : ""
            return "\(problems.count) problem(s) in \(files) files:\n\(shown)\(more)"
        }
    }

    /// Compares every file of `content` (only those whose ``File/path`` is in `only`, when given)
    /// byte for byte with the same path under `downloaded`; empty files must exist too. Without `only`,
    /// files under the content's name that the content does not have are problems as well (leftover
    /// partial or control files). Paths are compared by their exact bytes: an NFD name written as NFC
    /// does not count as present.
    static func verify(downloaded: URL, against content: TestContent, only: Set<String>? = nil) -> Report {
        var report = Report()
        for file in content.files where only.map({ $0.contains(file.path) }) ?? true {
            report.files += 1
            let url = downloaded.appendingPathComponent(file.path)
            if let problem = compare(url, with: file) {
                report.problems.append(problem)
            } else {
                report.bytes += file.size
            }
        }
        if only == nil {
            let expected = Set(content.files.map { Array($0.path.utf8) })
            for path in listFiles(under: downloaded, name: content.name) where !expected.contains(Array(path.utf8)) {
                report.problems.append("\(path): not part of the content (leftover or misnamed file)")
            }
        }
        return report
    }

    /// Whether the file at `url` is complete and correct: `nil` when identical, else what is wrong.
    static func compare(_ url: URL, with file: File) -> String? {
        var info = stat()
        guard lstat(url.path, &info) == 0 else {
            let siblings =
                (try? FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path))
                ?? []
            return "\(file.path): missing (\(file.size) bytes expected; folder has: "
                + "\(siblings.sorted().prefix(8).joined(separator: ", ")))"
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return "\(file.path): not a regular file" }
        guard Int(info.st_size) == file.size else {
            return "\(file.path): \(info.st_size) bytes, expected \(file.size)"
        }
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return "\(file.path): unreadable" }
        defer { try? handle.close() }
        var expected = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while offset < file.size {
            let count = min(expected.count, file.size - offset)
            guard let data = try? handle.read(upToCount: count), data.count == count else {
                return "\(file.path): short read at byte \(offset)"
            }
            expected.withUnsafeMutableBytes {
                fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]), seed: file.seed, startingAt: offset)
            }
            let differs = data.withUnsafeBytes { got in
                expected.withUnsafeBytes { memcmp(got.baseAddress!, $0.baseAddress!, count) != 0 }
            }
            if differs {
                let at = zip(data, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
                let piece = "byte \(offset + at)"
                return "\(file.path): content differs from \(piece) on"
            }
            offset += count
        }
        return nil
    }

    /// Every regular file below `root/name` (or `name` itself), as paths relative to `root`.
    static func listFiles(under root: URL, name: String) -> [String] {
        let top = root.appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: top.path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [name] }
        var result: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: top.path)
        while let relative = enumerator?.nextObject() as? String {
            var info = stat()
            if lstat(top.appendingPathComponent(relative).path, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR {
                result.append(name + "/" + relative)
            }
        }
        return result
    }
}
