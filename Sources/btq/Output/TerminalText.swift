/// Text that came from the network or a `.torrent` (names, paths, comments, tracker messages, client
/// names), made safe to print on a terminal: control characters (C0, DEL, C1: escape sequences, carriage
/// returns, bells, ...) and the bidirectional overrides that reorder what follows are removed, so a
/// torrent cannot move the cursor, rewrite the screen or disguise a line. JSON output keeps the text and
/// escapes them instead (``JSONText``).
enum TerminalText {
    /// `text` without control characters and bidirectional overrides (unchanged when it has none).
    static func clean(_ text: String) -> String {
        guard needsCleaning(text.utf8) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !isRemoved(scalar) { scalars.append(scalar) }
        return String(scalars)
    }

    /// ``clean(_:)`` of an optional.
    static func clean(_ text: String?) -> String? {
        text.map { clean($0) }
    }

    /// True when `bytes` (UTF-8) may hold something ``clean(_:)`` removes: a byte below 0x20, DEL, or
    /// the first byte of a C1 control (0xC2) or of a bidirectional override (0xE2). A fast check that
    /// lets the usual text through untouched.
    static func needsCleaning(_ bytes: some Sequence<UInt8>) -> Bool {
        bytes.contains { $0 < 0x20 || $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 }
    }

    /// True for the scalars removed: C0 controls, DEL, C1 controls, and the bidirectional embedding,
    /// override and isolate characters.
    static func isRemoved(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x7F...0x9F: return true
        case 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
