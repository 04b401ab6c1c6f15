/// A peer exchange message (BEP 11, `ut_pex`): peers the sender connected to, and dropped, since its
/// previous message.
///
/// On the wire: a bencoded dictionary of compact address strings, `added` / `added6` with one flag
/// byte per peer in `added.f` / `added6.f`, and `dropped` / `dropped6`. Decoding keeps what is
/// well formed and ignores the rest (a partial trailing entry, port 0, unusable addresses, missing
/// flags), and never keeps more than ``maxPeers`` of each list (`added`, `added6`, `dropped`,
/// `dropped6`): IPv6 peers are not crowded out by a full IPv4 list.
public struct PexMessage: Hashable, Sendable {
    /// Per-peer flags of `added.f` (BEP 11).
    public struct Flags: OptionSet, Hashable, Sendable {
        /// The raw byte.
        public var rawValue: UInt8
        /// Wraps a raw byte.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Prefers encrypted connections.
        public static let prefersEncryption = Flags(rawValue: 0x01)
        /// A seed, or upload only.
        public static let seed = Flags(rawValue: 0x02)
        /// Speaks uTP.
        public static let utp = Flags(rawValue: 0x04)
        /// Speaks the holepunch extension.
        public static let holepunch = Flags(rawValue: 0x08)
        /// The sender connected to it (so it accepts incoming connections).
        public static let reachable = Flags(rawValue: 0x10)
    }

    /// One added peer.
    public struct Peer: Hashable, Sendable {
        /// Its listen address.
        public var address: PeerAddress
        /// What the sender knows about it.
        public var flags: Flags

        /// Creates an entry.
        public init(address: PeerAddress, flags: Flags = []) {
            self.address = address
            self.flags = flags
        }
    }

    /// The most entries of each kind sent in one message (BEP 11 asks for at most 50 added).
    public static let maxSent = 50
    /// The most entries of each list (`added`, `added6`, `dropped`, `dropped6`) kept from one received message.
    public static let maxPeers = 200
    /// The largest message accepted, in bytes.
    public static let maxLength = 64 * 1024

    /// Peers connected since the previous message.
    public var added: [Peer]
    /// Peers disconnected since the previous message.
    public var dropped: [PeerAddress]

    /// Creates a message.
    public init(added: [Peer] = [], dropped: [PeerAddress] = []) {
        self.added = added
        self.dropped = dropped
    }

    /// Whether there is nothing to say.
    public var isEmpty: Bool { added.isEmpty && dropped.isEmpty }

    /// The bencoded dictionary; only numeric addresses are written (names have no compact form).
    public func encoded() -> [UInt8] {
        var added4: [UInt8] = []
        var flags4: [UInt8] = []
        var added6: [UInt8] = []
        var flags6: [UInt8] = []
        for peer in added {
            guard let compact = peer.address.compact else { continue }
            if compact.count == 6 {
                added4 += compact
                flags4.append(peer.flags.rawValue)
            } else {
                added6 += compact
                flags6.append(peer.flags.rawValue)
            }
        }
        var dropped4: [UInt8] = []
        var dropped6: [UInt8] = []
        for address in dropped {
            guard let compact = address.compact else { continue }
            if compact.count == 6 { dropped4 += compact } else { dropped6 += compact }
        }
        return BencodeValue.dictionary([
            "added": .string(added4), "added.f": .string(flags4), "added6": .string(added6),
            "added6.f": .string(flags6), "dropped": .string(dropped4), "dropped6": .string(dropped6),
        ]).encoded
    }

    /// Decodes a received message.
    ///
    /// - Throws: ``ExtensionMessageError`` for an oversized or malformed message or one that is not
    ///   a dictionary; garbage inside a well-formed dictionary is ignored.
    public init(decoding payload: some Collection<UInt8>) throws(ExtensionMessageError) {
        let what = "peer exchange message"
        let root = try BencodeDecoder.extensionDictionary(payload, what: what, maxLength: Self.maxLength)
        var added: [Peer] = []
        for (key, flagsKey, decode) in [
            ("added", "added.f", PeerAddress.compactIPv4), ("added6", "added6.f", PeerAddress.compactIPv6),
        ] as [(String, String, ([UInt8]) -> [PeerAddress])] {
            guard let bytes = root[key]?.bytes else { continue }
            let flags = root[flagsKey]?.bytes.map(Array.init) ?? []
            let entryLength = key == "added" ? 6 : 18
            let limited = Array(bytes.prefix(Self.maxPeers * entryLength))
            // Decode entry by entry so each keeps its own flag byte even when some are skipped.
            var index = 0
            var kept = 0
            while (index + 1) * entryLength <= limited.count, kept < Self.maxPeers {
                let entry = Array(limited[(index * entryLength)..<((index + 1) * entryLength)])
                if let address = decode(entry).first, address.isUsablePeer {
                    let flag = index < flags.count ? Flags(rawValue: flags[index]) : []
                    added.append(Peer(address: address, flags: flag))
                    kept += 1
                }
                index += 1
            }
        }
        var dropped: [PeerAddress] = []
        if let bytes = root["dropped"]?.bytes {
            dropped += PeerAddress.compactIPv4(bytes.prefix(Self.maxPeers * 6))
        }
        if let bytes = root["dropped6"]?.bytes {
            dropped += PeerAddress.compactIPv6(bytes.prefix(Self.maxPeers * 18))
        }
        self.added = added
        self.dropped = dropped
    }
}

extension PeerAddress {
    /// Whether a peer could listen here: not an unspecified, multicast or broadcast address.
    public var isUsablePeer: Bool {
        switch host {
        case .ipv4(let a, let b, let c, let d):
            if a == 0 || a >= 224 { return false }
            return !(a == 255 && b == 255 && c == 255 && d == 255)
        case .ipv6(let bytes):
            return bytes.count == 16 && bytes != [UInt8](repeating: 0, count: 16) && bytes[0] != 0xff
        case .name:
            return false
        }
    }
}
