extension Metainfo {
    /// Parses and validates a `.torrent` file with the default ``MetainfoLimits``.
    ///
    /// - Throws: ``MetainfoError``, whose ``MetainfoError/category`` says what was wrong.
    public init(bytes: [UInt8]) throws {
        self = try MetainfoParser(limits: .default).parse(bytes)
    }

    /// Parses and validates a `.torrent` file with the given limits.
    ///
    /// - Throws: ``MetainfoError``.
    public init(bytes: [UInt8], limits: MetainfoLimits) throws {
        self = try MetainfoParser(limits: limits).parse(bytes)
    }
}
