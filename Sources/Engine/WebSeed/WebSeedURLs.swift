/// The URL of each file of a torrent on one web seed, as BEP 19 lays them out.
///
/// A single-file torrent's data is the URL itself, or `url + name` when the URL ends in `/`; a
/// multi-file torrent's file `a/b` is `url + name + "/a/b"` (the parser gave such URLs a trailing `/`).
/// Each path element is percent-encoded on its own, so a `/` or `?` in a name cannot change the URL's
/// structure. The names are the torrent's sanitized ones (what the files are called on disk).
public struct WebSeedURLs: Sendable {
    /// The web seed's URL as the torrent gave it.
    public let base: String
    let files: TorrentFiles
    let isMultiFile: Bool

    /// The URLs of `files` (a torrent's, in stream order) below `base`.
    public init(base: String, files: TorrentFiles, isMultiFile: Bool) {
        self.base = base
        self.files = files
        self.isMultiFile = isMultiFile
    }

    /// The URLs of `metainfo`'s files on the web seed at `base`.
    public init(base: String, metainfo: Metainfo) {
        self.init(base: base, files: metainfo.files, isMultiFile: metainfo.isMultiFile)
    }

    /// The URL of file `index` (its `relativePath` starts with the torrent's name).
    public func url(ofFile index: Int) -> String {
        let path = files[index].relativePath
        if !isMultiFile {
            return base.hasSuffix("/") ? base + PercentEncoding.encode(path.utf8) : base
        }
        let folder = base.hasSuffix("/") ? base : base + "/"
        return folder
            + path.pathElements.filter { !$0.isEmpty }.map { PercentEncoding.encode($0.utf8) }.joined(separator: "/")
    }
}
