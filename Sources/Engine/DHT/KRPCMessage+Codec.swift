/// KRPC's bencode form (BEP 5, with BEP 32 `nodes6`, BEP 42 `ip` and BEP 43 `ro`), bounded: a packet
/// is at most ``Limits/maxPacket`` bytes, and every string and list in it has a cap.
extension KRPCMessage {
    /// The caps on what a packet may hold.
    public enum Limits {
        /// Largest packet taken: what fits the largest UDP payloads DHT nodes send.
        public static let maxPacket = 4096
        /// Longest transaction id, version, token and method name.
        public static let maxTransaction = 32
        public static let maxVersion = 16
        public static let maxToken = 64
        public static let maxMethod = 32
        /// Longest error text kept (longer text is cut).
        public static let maxErrorText = 256
        /// Most nodes (of each family) and peers read from a response; more are ignored.
        public static let maxNodes = 64
        public static let maxValues = 256
    }

    private static let decoder = BencodeDecoder(
        limits: .init(
            maxDepth: 4, maxElements: 1_024, maxStringLength: Limits.maxPacket, maxInputLength: Limits.maxPacket),
        keyOrder: .lenient)

    /// Decodes one packet.
    ///
    /// - Throws: ``KRPCError``.
    public init(decoding bytes: some Collection<UInt8>) throws(KRPCError) {
        guard bytes.count <= Limits.maxPacket else { throw .tooLarge(bytes.count) }
        let root: BencodeNode
        do {
            root = try Self.decoder.decode(Array(bytes))
        } catch {
            throw .malformed("\(error)")
        }
        guard root.isDictionary else { throw .malformed("not a dictionary") }
        guard let transaction = root["t"]?.bytes, transaction.count <= Limits.maxTransaction else {
            throw .invalidField("t")
        }
        let version = root["v"]?.bytes.flatMap { $0.count <= Limits.maxVersion ? Array($0) : nil }
        let readOnly = root["ro"]?.integer == 1
        let requester = root["ip"]?.bytes.flatMap(Self.compactAddress)
        let body: Body
        switch root["y"]?.string {
        case "q":
            body = .query(try Self.query(root))
        case "r":
            guard let response = root["r"], response.isDictionary else { throw .invalidField("r") }
            body = .response(try Self.response(response))
        case "e":
            guard let error = root["e"]?.list, error.count >= 2, let code = error[0].integer,
                let text = error[1].bytes
            else { throw .invalidField("e") }
            body = .error(code: code, message: Self.text(text, max: Limits.maxErrorText))
        default:
            throw .invalidField("y")
        }
        self.init(
            transaction: Array(transaction), body: body, version: version, readOnly: readOnly, requester: requester)
    }

    private static func query(_ root: BencodeNode) throws(KRPCError) -> KRPCQuery {
        guard let name = root["q"]?.bytes, name.count <= Limits.maxMethod else { throw .invalidField("q") }
        guard let arguments = root["a"], arguments.isDictionary else { throw .invalidField("a") }
        let sender = try id(arguments, "id")
        let method: KRPCQuery.Method
        switch Self.text(name, max: Limits.maxMethod) {
        case "ping":
            method = .ping
        case "find_node":
            method = .findNode(target: try id(arguments, "target"))
        case "get_peers":
            method = .getPeers(infoHash: try id(arguments, "info_hash"))
        case "announce_peer":
            let impliedPort = arguments["implied_port"]?.integer == 1
            let port = arguments["port"]?.integer
            guard impliedPort || (port.map { (1...65_535).contains($0) } ?? false) else { throw .invalidField("port") }
            guard let token = arguments["token"]?.bytes, token.count <= Limits.maxToken else {
                throw .invalidField("token")
            }
            method = .announcePeer(
                infoHash: try id(arguments, "info_hash"), port: UInt16(clamping: port ?? 0), token: Array(token),
                impliedPort: impliedPort)
        case let other:
            method = .unknown(other)
        }
        return KRPCQuery(sender: sender, method: method)
    }

    private static func response(_ response: BencodeNode) throws(KRPCError) -> KRPCResponse {
        var result = KRPCResponse(sender: try id(response, "id"))
        if let nodes = response["nodes"]?.bytes { result.nodes = Self.nodes(nodes, addressLength: 4) }
        if let nodes = response["nodes6"]?.bytes { result.nodes6 = Self.nodes(nodes, addressLength: 16) }
        if let token = response["token"]?.bytes {
            guard token.count <= Limits.maxToken else { throw .invalidField("token") }
            result.token = Array(token)
        }
        for value in response["values"]?.items ?? .empty {
            guard result.values.count < Limits.maxValues else { break }
            if let bytes = value.bytes, let address = compactAddress(bytes), address.port != 0 {
                result.values.append(address)
            }
        }
        return result
    }

    /// `bytes` as text (invalid UTF-8 replaced), cut to at most `max` bytes of UTF-8 on a character
    /// boundary: what it encodes back to decodes to the same text.
    static func text(_ bytes: ArraySlice<UInt8>, max: Int) -> String {
        var text = String(decoding: bytes.prefix(max), as: UTF8.self)
        while text.utf8.count > max { text.removeLast() }
        return text
    }

    /// The 20-byte id under `key` of `dictionary`.
    private static func id(_ dictionary: BencodeNode, _ key: String) throws(KRPCError) -> NodeID {
        guard let bytes = dictionary[key]?.bytes, let id = NodeID(bytes) else { throw .invalidField(key) }
        return id
    }

    /// Compact node infos (20-byte id, then a 4- or 16-byte address and a port), up to the cap; a
    /// trailing partial entry and entries with port 0 are ignored.
    static func nodes(_ bytes: ArraySlice<UInt8>, addressLength: Int) -> [DHTNode] {
        let size = 20 + addressLength + 2
        var nodes: [DHTNode] = []
        var start = bytes.startIndex
        while start + size <= bytes.endIndex, nodes.count < Limits.maxNodes {
            let entry = bytes[start..<start + size]
            start += size
            guard let id = NodeID(entry.prefix(20)), let address = compactAddress(entry.dropFirst(20)),
                address.port != 0
            else { continue }
            nodes.append(DHTNode(id: id, address: address))
        }
        return nodes
    }

    /// An address in compact form: 6 bytes (IPv4) or 18 (IPv6), port last.
    static func compactAddress(_ bytes: ArraySlice<UInt8>) -> PeerAddress? {
        let raw = Array(bytes)
        guard raw.count == 6 || raw.count == 18 else { return nil }
        let port = UInt16(raw[raw.count - 2]) << 8 | UInt16(raw[raw.count - 1])
        let host: PeerAddress.Host =
            raw.count == 6 ? .ipv4(raw[0], raw[1], raw[2], raw[3]) : .ipv6(Array(raw[0..<16]))
        return PeerAddress(host: host, port: port)
    }

    /// The packet's bytes: canonical bencode (keys in order).
    public var encoded: [UInt8] {
        var root: [String: BencodeValue] = ["t": .string(transaction)]
        if let version { root["v"] = .string(version) }
        if readOnly { root["ro"] = 1 }
        if let compact = requester?.compact { root["ip"] = .string(compact) }
        switch body {
        case .query(let query):
            root["y"] = "q"
            var arguments: [String: BencodeValue] = ["id": .string(query.sender.bytes)]
            let name: String
            switch query.method {
            case .ping:
                name = "ping"
            case .findNode(let target):
                name = "find_node"
                arguments["target"] = .string(target.bytes)
            case .getPeers(let infoHash):
                name = "get_peers"
                arguments["info_hash"] = .string(infoHash.bytes)
            case .announcePeer(let infoHash, let port, let token, let impliedPort):
                name = "announce_peer"
                arguments["info_hash"] = .string(infoHash.bytes)
                arguments["port"] = .integer(Int64(port))
                arguments["token"] = .string(token)
                if impliedPort { arguments["implied_port"] = 1 }
            case .unknown(let method):
                name = method
            }
            root["q"] = .text(name)
            root["a"] = .dictionary(arguments)
        case .response(let response):
            root["y"] = "r"
            var values: [String: BencodeValue] = ["id": .string(response.sender.bytes)]
            if !response.nodes.isEmpty { values["nodes"] = .string(Self.compact(response.nodes)) }
            if !response.nodes6.isEmpty { values["nodes6"] = .string(Self.compact(response.nodes6)) }
            if !response.values.isEmpty {
                values["values"] = .list(response.values.compactMap { $0.compact.map { .string($0) } })
            }
            if let token = response.token { values["token"] = .string(token) }
            root["r"] = .dictionary(values)
        case .error(let code, let message):
            root["y"] = "e"
            root["e"] = [.integer(code), .text(message)]
        }
        return BencodeValue.dictionary(root).encoded
    }

    /// Compact node infos of `nodes` (those with a numeric address).
    private static func compact(_ nodes: [DHTNode]) -> [UInt8] {
        nodes.flatMap { node in node.address.compact.map { node.id.bytes + $0 } ?? [] }
    }
}
