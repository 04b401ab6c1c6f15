// PLACEHOLDER until the metainfo parser lands: lets the other modules compile against the API.
struct MetainfoNotImplemented: Error {}

extension Metainfo {
    /// Parses and validates a `.torrent` file.
    public init(bytes: [UInt8]) throws {
        throw MetainfoNotImplemented()
    }
}

extension MagnetLink {
    /// Parses a magnet URI.
    public init(parsing uri: String) throws {
        throw MetainfoNotImplemented()
    }
}
