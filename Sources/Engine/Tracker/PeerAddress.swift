/// Where a peer can be reached: an IPv4 or IPv6 address (or a host name from the command line) and a port.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    /// The host part.
    public enum Host: Hashable, Sendable {
        /// Four bytes, network order.
        case ipv4(UInt8, UInt8, UInt8, UInt8)
        /// Sixteen bytes, network order.
        case ipv6([UInt8])
        /// A DNS name (only from user input; trackers send addresses).
        case name(String)
    }

    /// The host.
    public var host: Host
    /// The TCP port.
    public var port: UInt16

    /// Creates an address.
    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `1.2.3.4:6881`, `[::1]:6881` or `name:6881`; `nil` when the text is not of that form or the
    /// port is 0 or out of range.
    public init?(parsing text: String) {
        let utf8 = Array(text.utf8)
        let hostPart: String
        let portPart: Substring
        if utf8.first == UInt8(ascii: "[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { return nil }
            portPart = rest.dropFirst()
            guard let bytes = Self.parseIPv6(hostPart) else { return nil }
            host = .ipv6(bytes)
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = String(text[..<colon])
            portPart = text[text.index(after: colon)...]
            guard !hostPart.isEmpty, !hostPart.contains(":") else { return nil }
            if let v4 = Self.parseIPv4(hostPart) {
                host = .ipv4(v4[0], v4[1], v4[2], v4[3])
            } else {
                guard hostPart.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") }) else {
                    return nil
                }
                host = .name(hostPart)
            }
        }
        guard let port = UInt16(portPart), port != 0 else { return nil }
        self.port = port
    }

    /// `1.2.3.4:6881` or `[::1]:6881`.
    public var description: String {
        switch host {
        case .ipv4(let a, let b, let c, let d): return "\(a).\(b).\(c).\(d):\(port)"
        case .ipv6: return "[\(hostString)]:\(port)"
        case .name(let name): return "\(name):\(port)"
        }
    }

    /// The host alone, as a socket API wants it (`::1` without brackets).
    public var hostString: String {
        switch host {
        case .ipv4(let a, let b, let c, let d): return "\(a).\(b).\(c).\(d)"
        case .ipv6(let bytes):
            var groups: [String] = []
            for i in stride(from: 0, to: 16, by: 2) {
                groups.append(String(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]), radix: 16))
            }
            return Self.compressIPv6(groups)
        case .name(let name): return name
        }
    }

    /// True for 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        switch host {
        case .ipv4(let a, _, _, _): return a == 127
        case .ipv6(let bytes): return bytes == [UInt8](repeating: 0, count: 15) + [1]
        case .name(let name): return name == "localhost"
        }
    }

    /// Decodes a BEP 23 compact IPv4 peer list (6 bytes each); a trailing partial entry is ignored.
    public static func compactIPv4(_ bytes: some Collection<UInt8>) -> [PeerAddress] {
        let raw = Array(bytes)
        var peers: [PeerAddress] = []
        peers.reserveCapacity(raw.count / 6)
        var i = 0
        while i + 6 <= raw.count {
            let port = UInt16(raw[i + 4]) << 8 | UInt16(raw[i + 5])
            if port != 0 {
                peers.append(PeerAddress(host: .ipv4(raw[i], raw[i + 1], raw[i + 2], raw[i + 3]), port: port))
            }
            i += 6
        }
        return peers
    }

    /// Decodes a BEP 7 compact IPv6 peer list (18 bytes each); a trailing partial entry is ignored.
    public static func compactIPv6(_ bytes: some Collection<UInt8>) -> [PeerAddress] {
        let raw = Array(bytes)
        var peers: [PeerAddress] = []
        peers.reserveCapacity(raw.count / 18)
        var i = 0
        while i + 18 <= raw.count {
            let port = UInt16(raw[i + 16]) << 8 | UInt16(raw[i + 17])
            if port != 0 {
                peers.append(PeerAddress(host: .ipv6(Array(raw[i..<i + 16])), port: port))
            }
            i += 18
        }
        return peers
    }

    /// The compact form (6 or 18 bytes) of an address with a numeric host; `nil` for names.
    public var compact: [UInt8]? {
        let portBytes = [UInt8(port >> 8), UInt8(port & 0xff)]
        switch host {
        case .ipv4(let a, let b, let c, let d): return [a, b, c, d] + portBytes
        case .ipv6(let bytes): return bytes + portBytes
        case .name: return nil
        }
    }

    static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part) else {
                return nil
            }
            out.append(value)
        }
        return out
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.count >= 2, text.count <= 45 else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        let halves = splitAtDoubleColons(text)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if index == fields.count - 1, field.contains("."), let v4 = parseIPv4(String(field)) {
                    out.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    out.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                    continue
                }
                guard !field.isEmpty, field.count <= 4, let value = UInt16(field, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        guard let first = groups(halves[0]) else { return nil }
        head = first
        if halves.count == 2 {
            sawGap = true
            guard let second = groups(halves[1]) else { return nil }
            tail = second
        }
        let missing = 8 - head.count - tail.count
        guard sawGap ? missing >= 1 : missing == 0 else { return nil }
        let all = head + [UInt16](repeating: 0, count: sawGap ? missing : 0) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// RFC 5952 text: the longest run (2 or more) of zero groups becomes `::`.
    static func compressIPv6(_ groups: [String]) -> String {
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < groups.count {
            if groups[index] == "0" {
                var end = index
                while end < groups.count, groups[end] == "0" { end += 1 }
                if end - index > bestLength, end - index >= 2 {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            } else {
                index += 1
            }
        }
        guard bestStart >= 0 else { return groups.joined(separator: ":") }
        let left = groups[..<bestStart].joined(separator: ":")
        let right = groups[(bestStart + bestLength)...].joined(separator: ":")
        return left + "::" + right
    }

    /// Splits at every `::` (the IPv6 zero-run marker); valid text gives one or two halves.
    static func splitAtDoubleColons(_ text: String) -> [Substring] {
        var parts: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == ":", next < text.endIndex, text[next] == ":" {
                parts.append(text[start..<index])
                index = text.index(after: next)
                start = index
            } else {
                index = next
            }
        }
        parts.append(text[start...])
        return parts
    }
}
