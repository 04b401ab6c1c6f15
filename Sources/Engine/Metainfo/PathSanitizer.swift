/// Turns untrusted path elements from a torrent into names that are safe below a download folder.
///
/// One element in, at most one element out; the result never is empty, `.` or `..`, never holds
/// `/`, `\` or NUL, is valid UTF-8 and at most ``maxElementBytes`` bytes long. The rules follow the
/// reference client (libtorrent) so that paths agree with it:
///
/// - `/`, `\`, NUL and invisible formatting characters (bidi overrides, zero-width characters, BOM)
///   are removed, so `abc/../def` becomes `abc....def` and no element can add a folder level;
/// - other control characters and each invalid UTF-8 sequence become `_`;
/// - an element that is empty, `.` or `..` (before or after the above) is unusable: path elements
///   become `_`, a torrent name falls back to the info-hash;
/// - a longer element is cut to ``maxElementBytes`` bytes on a character boundary, keeping a short
///   extension.
public enum PathSanitizer {
    /// The longest element, in UTF-8 bytes, most Linux file systems accept.
    public static let maxElementBytes = 255
    /// An extension (from the last dot) up to this many bytes survives truncation.
    static let maxKeptExtensionBytes = 16
    /// ``sanitize(_:)`` keeps this many bytes of a long element's start (more than it can keep)...
    static let keptHeadBytes = 512
    /// ...and at least this many of its end (more than an extension and the characters around it).
    static let keptTailBytes = 64

    /// The sanitized element, or `nil` when nothing usable is left (empty, `.` or `..`).
    ///
    /// Work and memory are bounded however long `element` is: past ``keptHeadBytes`` bytes of
    /// output, only the last ``keptTailBytes`` or so are kept. Cutting the joined head and tail
    /// gives what cutting the whole text would: the cut keeps the first 255 bytes and an extension
    /// of at most 16 bytes, which lies in the tail whenever it exists.
    public static func sanitize<Bytes: Collection<UInt8>>(_ element: Bytes) -> String? {
        // The common case, taken as is: short, printable ASCII, no `/` or `\`.
        if isSafeAsGiven(element) { return String(decoding: element, as: UTF8.self) }
        if element.isEmpty || element.elementsEqual(".".utf8) || element.elementsEqual("..".utf8) { return nil }
        var head = String.UnicodeScalarView()
        var headBytes = 0
        var tail: [Unicode.Scalar] = []
        var tailBytes = 0
        var iterator = element.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        loop: while true {
            let scalar: Unicode.Scalar
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let decoded = Unicode.UTF8.decode(encoded)
                if isRemoved(decoded) { continue }
                scalar = isControl(decoded) ? "_" : decoded
            case .error:
                scalar = "_"
            case .emptyInput:
                break loop
            }
            if headBytes < keptHeadBytes {
                head.append(scalar)
                headBytes += UTF8.width(scalar)
                continue
            }
            tail.append(scalar)
            tailBytes += UTF8.width(scalar)
            if tailBytes >= 2 * keptTailBytes {
                // Drop the oldest half: amortized constant work per scalar.
                var dropped = 0
                while tailBytes - UTF8.width(tail[dropped]) >= keptTailBytes {
                    tailBytes -= UTF8.width(tail[dropped])
                    dropped += 1
                }
                tail.removeFirst(dropped)
            }
        }
        head.append(contentsOf: tail)
        let text = String(head)
        if text.isEmpty || text == "." || text == ".." { return nil }
        return truncated(text)
    }

    /// True when `element` is its own sanitized form and needs no work: at most ``maxElementBytes``
    /// bytes of printable ASCII other than `/` and `\`, and not empty, `.` or `..`.
    public static func isSafeAsGiven<Bytes: Collection<UInt8>>(_ element: Bytes) -> Bool {
        guard !element.isEmpty, element.count <= maxElementBytes,
            element.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "\\") })
        else { return false }
        return !element.elementsEqual(".".utf8) && !element.elementsEqual("..".utf8)
    }

    /// ``sanitize(_:)`` for a path element: an unusable element becomes `_` rather than vanishing,
    /// so every element of the original path keeps its place.
    public static func sanitizeElement<Bytes: Collection<UInt8>>(_ element: Bytes) -> String {
        sanitize(element) ?? "_"
    }

    /// `name` with `.<number>` inserted before its extension (`bar.txt` -> `bar.1.txt`), still at
    /// most ``maxElementBytes`` bytes: the deterministic new name of a colliding file.
    public static func renamed(_ name: String, number: Int) -> String {
        let (stem, fileExtension) = split(name)
        let suffix = ".\(number)"
        let budget = maxElementBytes - suffix.utf8.count - fileExtension.utf8.count
        return prefix(of: stem, maxBytes: max(budget, 1)) + suffix + fileExtension
    }

    // MARK: - Helpers

    private static func isRemoved(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00, 0x2F, 0x5C: return true  // NUL, '/', '\'
        case 0x061C, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2064, 0x2066...0x2069, 0xFEFF: return true
        default: return false
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Cuts `text` to ``maxElementBytes`` bytes, keeping a short extension.
    private static func truncated(_ text: String) -> String {
        guard text.utf8.count > maxElementBytes else { return text }
        let (stem, fileExtension) = split(text)
        return prefix(of: stem, maxBytes: maxElementBytes - fileExtension.utf8.count) + fileExtension
    }

    /// Splits off an extension: from the last dot, when that dot is not the first character and the
    /// extension is short.
    private static func split(_ name: String) -> (stem: String, fileExtension: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        let fileExtension = name[dot...]
        guard fileExtension.utf8.count <= maxKeptExtensionBytes else { return (name, "") }
        return (String(name[..<dot]), String(fileExtension))
    }

    /// The longest prefix of `text` of at most `maxBytes` UTF-8 bytes ending on a scalar boundary.
    private static func prefix(of text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var result = String.UnicodeScalarView()
        var used = 0
        for scalar in text.unicodeScalars {
            let size = UTF8.width(scalar)
            if used + size > maxBytes { break }
            used += size
            result.append(scalar)
        }
        return String(result)
    }
}
