/// Peer ids: btq's own, and client names decoded from other peers' ids.
package enum PeerID {
    /// btq's client prefix in the Azureus style (`-BQ0100-`): `BQ`, version 0.1.0.0.
    package static let prefix = Array("-BQ0100-".utf8)

    /// A fresh 20-byte peer id: the prefix and 12 random alphanumeric characters.
    package static func generate() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// A fresh 20-byte peer id drawn from `generator`.
    package static func generate(using generator: inout some RandomNumberGenerator) -> [UInt8] {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        return prefix + (0..<12).map { _ in alphabet.randomElement(using: &generator)! }
    }

    private static let azureusClients: [String: String] = [
        "AZ": "Vuze", "BC": "BitComet", "BQ": "btq", "BT": "BitTorrent", "DE": "Deluge", "KT": "KTorrent",
        "LT": "libtorrent", "lt": "libTorrent (rakshasa)", "qB": "qBittorrent", "TR": "Transmission",
        "UT": "µTorrent", "UM": "µTorrent Mac", "WW": "WebTorrent", "A2": "aria2", "BI": "BiglyBT",
        "FD": "Free Download Manager", "TX": "Tixati", "FW": "FrostWire", "RT": "rtorrent",
    ]

    /// A readable client name and version from an Azureus-style id (`-TR3000-` → `Transmission 3.0.0.0`),
    /// or the printable prefix for other styles; `nil` when nothing useful can be said.
    package static func clientName(_ id: [UInt8]) -> String? {
        guard id.count == 20 else { return nil }
        if id[0] == UInt8(ascii: "-"), id[7] == UInt8(ascii: "-") {
            let code = String(decoding: id[1...2], as: UTF8.self)
            let version = id[3...6].map { byte -> String in
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): return String(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): return String(byte - UInt8(ascii: "A") + 10)
                case UInt8(ascii: "a")...UInt8(ascii: "z"): return String(byte - UInt8(ascii: "a") + 36)
                default: return "?"
                }
            }
            let name = azureusClients[code] ?? code
            return "\(name) \(version.joined(separator: "."))"
        }
        let printable = id.prefix { $0 >= 0x21 && $0 < 0x7f }
        return printable.count >= 3 ? String(decoding: printable.prefix(8), as: UTF8.self) : nil
    }
}
