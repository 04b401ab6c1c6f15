/// The extension protocol handshake (BEP 10): the bencoded dictionary sent as extended message 0.
///
/// Carries the fields libtorrent and Transmission send: `m` (extension names to the message ids the
/// sender wants to receive them under; 0 disables one), `v` (client name and version), `p` (the
/// sender's TCP listen port), `reqq` (how many outstanding requests it queues), `metadata_size`
/// (BEP 9) and `yourip` (the receiver's address as the sender sees it, compact form).
///
/// Decoding is strict about the envelope (a bounded, well-formed bencoded dictionary, or a typed
/// error) and tolerant about the contents, as the reference clients are: unknown keys are ignored,
/// and a known key of the wrong type or out of range is treated as absent.
public struct ExtensionHandshake: Hashable, Sendable {
    /// The extension name of metadata exchange (BEP 9).
    public static let utMetadata = "ut_metadata"
    /// The extension name of peer exchange (BEP 11).
    public static let utPex = "ut_pex"
    /// The largest extension handshake accepted, in bytes.
    public static let maxLength = 64 * 1024
    /// The longest client name kept from `v`, in characters.
    public static let maxClientNameLength = 64
    /// The most entries kept from `m`.
    public static let maxExtensions = 64

    /// `m`: extension name to the message id the sender receives it under (1...255; disabled ones left out).
    public var extensions: [String: UInt8]
    /// `v`: the client's name and version, e.g. `libtorrent 2.0.8.0`.
    public var clientName: String?
    /// `p`: the sender's TCP listen port.
    public var listenPort: UInt16?
    /// `reqq`: how many outstanding requests the sender queues.
    public var requestQueueLength: Int?
    /// `metadata_size`: the byte length of the info dictionary (BEP 9), when the sender has it.
    public var metadataSize: Int?
    /// `yourip`: the receiver's address as the sender sees it: 4 (IPv4) or 16 (IPv6) bytes.
    public var yourIP: [UInt8]?
    /// `upload_only` (libtorrent, Transmission): the sender will not download.
    public var uploadOnly: Bool

    /// Creates a handshake.
    public init(
        extensions: [String: UInt8] = [:], clientName: String? = nil, listenPort: UInt16? = nil,
        requestQueueLength: Int? = nil, metadataSize: Int? = nil, yourIP: [UInt8]? = nil, uploadOnly: Bool = false
    ) {
        self.extensions = extensions
        self.clientName = clientName
        self.listenPort = listenPort
        self.requestQueueLength = requestQueueLength
        self.metadataSize = metadataSize
        self.yourIP = yourIP
        self.uploadOnly = uploadOnly
    }

    /// The message id the sender receives `name` under, when it supports it.
    public func id(of name: String) -> UInt8? { extensions[name] }

    /// The bencoded dictionary (canonical: keys in byte order).
    public func encoded() -> [UInt8] {
        var entries: [String: BencodeValue] = [:]
        var m: [String: BencodeValue] = [:]
        for (name, id) in extensions { m[name] = .integer(Int64(id)) }
        entries["m"] = .dictionary(m)
        if let clientName { entries["v"] = .text(clientName) }
        if let listenPort { entries["p"] = .integer(Int64(listenPort)) }
        if let requestQueueLength { entries["reqq"] = .integer(Int64(requestQueueLength)) }
        if let metadataSize { entries["metadata_size"] = .integer(Int64(metadataSize)) }
        if let yourIP { entries["yourip"] = .string(yourIP) }
        if uploadOnly { entries["upload_only"] = 1 }
        return BencodeValue.dictionary(entries).encoded
    }

    /// Decodes a received handshake payload (what follows the extended message id 0).
    ///
    /// - Throws: ``ExtensionMessageError`` for an oversized, malformed or non-dictionary payload, or an
    ///   `m` that is not a dictionary.
    public init(decoding payload: some Collection<UInt8>) throws(ExtensionMessageError) {
        let what = "extension handshake"
        let root = try BencodeDecoder.extensionDictionary(payload, what: what, maxLength: Self.maxLength)
        var extensions: [String: UInt8] = [:]
        if let m = root["m"] {
            guard let entries = m.entries else { throw .invalidField(what, field: "m") }
            for entry in entries.prefix(Self.maxExtensions) {
                guard let id = entry.value.integer, let name = String(validating: entry.key, as: UTF8.self) else {
                    continue
                }
                // 0 disables an extension; ids past 255 cannot be sent.
                if (1...255).contains(id) { extensions[name] = UInt8(id) } else { extensions[name] = nil }
            }
        }
        self.extensions = extensions
        clientName = root["v"]?.bytes.map(Self.printable).flatMap { $0.isEmpty ? nil : $0 }
        listenPort = root["p"]?.integer.flatMap { (1...65535).contains($0) ? UInt16($0) : nil }
        requestQueueLength = root["reqq"]?.integer.flatMap { $0 > 0 ? Int(min($0, 1 << 20)) : nil }
        metadataSize = root["metadata_size"]?.integer.flatMap { $0 > 0 ? Int(min($0, Int64(Int32.max))) : nil }
        yourIP = root["yourip"]?.bytes.flatMap { $0.count == 4 || $0.count == 16 ? Array($0) : nil }
        uploadOnly = (root["upload_only"]?.integer ?? 0) != 0
    }

    /// A client name fit for logs and tables: valid UTF-8 (repaired), no control characters, bounded.
    private static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        let text = String(decoding: bytes.prefix(4 * maxClientNameLength), as: UTF8.self)
        let cleaned = text.unicodeScalars.filter { !$0.properties.generalCategory.isControlOrFormat }
        let bounded = cleaned.prefix(maxClientNameLength)
        let trimmed = bounded.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()
        return String(String.UnicodeScalarView(trimmed))
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isControlOrFormat: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse: true
        default: false
        }
    }
}
