import Foundation

/// The web interface's files, served from one folder (Transmission's stock web interface, as a
/// distribution installs it): only regular files beneath the folder, found after every link is
/// resolved, at most 16 MiB each; no `..`, no hidden names.
public struct RPCWebFiles: Sendable {
    /// A file's bytes and their media type.
    public struct File: Sendable {
        public var bytes: [UInt8]
        public var contentType: String
    }

    /// The most bytes a served file may have.
    public static let maximumFileSize = 16 << 20

    /// The folder, links resolved.
    public let root: String

    /// The web interface in `folder`; `nil` when it holds no `index.html`.
    public init?(folder: String) {
        let resolved = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder), isFolder.boolValue,
            FileManager.default.fileExists(atPath: resolved + "/index.html")
        else { return nil }
        root = resolved
    }

    /// The file at `relative` (as in the URL, percent-encoded; empty for `index.html`), `nil` when there
    /// is none or it is not allowed.
    public func file(at relative: String) -> File? {
        guard let decoded = relative.removingPercentEncoding, !decoded.contains("\0"), decoded.utf8.count < 1024
        else { return nil }
        let parts = decoded.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.contains(where: { $0 == ".." || $0 == "." || $0.hasPrefix(".") }) else { return nil }
        let joined = parts.isEmpty ? "index.html" : parts.joined(separator: "/")
        let resolved = URL(fileURLWithPath: root + "/" + joined).resolvingSymlinksInPath().path
        guard resolved.hasPrefix(root + "/") else { return nil }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved),
            attributes[.type] as? FileAttributeType == .typeRegular,
            let size = attributes[.size] as? Int, size <= Self.maximumFileSize,
            let data = FileManager.default.contents(atPath: resolved), data.count <= Self.maximumFileSize
        else { return nil }
        return File(bytes: Array(data), contentType: Self.contentType(resolved))
    }

    static func contentType(_ path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "html", "htm": return "text/html; charset=utf-8"
        case "js": return "application/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "png": return "image/png"
        case "gif": return "image/gif"
        case "jpg", "jpeg": return "image/jpeg"
        case "svg": return "image/svg+xml"
        case "ico": return "image/x-icon"
        case "json": return "application/json"
        case "txt": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }
}
