import Engine
import Glibc

extension TorrentState {
    /// The state whose raw value is these UTF-8 bytes, as ``init(rawValue:)`` without making a `String`
    /// (`btq list` reads one per queue line).
    init?(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        let candidate: TorrentState
        switch bytes.first {
        case UInt8(ascii: "q"): candidate = .queued
        case UInt8(ascii: "c"): candidate = bytes.count == 8 ? .checking : .completed
        case UInt8(ascii: "m"): candidate = .fetchingMetadata
        case UInt8(ascii: "d"): candidate = .downloading
        case UInt8(ascii: "s"): candidate = .seeding
        case UInt8(ascii: "p"): candidate = .paused
        case UInt8(ascii: "e"): candidate = .error
        default: return nil
        }
        var name = candidate.rawValue
        let matches = name.withUTF8 { name in
            name.count == bytes.count && memcmp(name.baseAddress!, bytes.baseAddress!, name.count) == 0
        }
        guard matches else { return nil }
        self = candidate
    }
}
