import NIOCore

/// Writes JSON text into a byte buffer, for answers with thousands of torrents: no intermediate objects,
/// strings escaped as they are copied, and the buffer handed to the connection as it is (no copy).
public struct JSONWriter: Sendable {
    /// The text written so far, in the buffer the answer is sent from.
    public private(set) var buffer: ByteBuffer

    /// A writer whose buffer holds `capacity` bytes before it grows.
    public init(capacity: Int = 1024) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// A writer that writes into `spare` (emptied), or into a new buffer of `capacity` bytes when there is
    /// none. A spare still held elsewhere (an answer not yet sent) is not written over: emptying it gives
    /// a copy of its size.
    public init(reusing spare: consuming ByteBuffer?, capacity: Int = 1024) {
        // Taken out of `spare`, so that it is the buffer's only holder here when no one else holds it.
        if var reused = spare.take() {
            reused.clear()
            buffer = reused
        } else {
            buffer = ByteBufferAllocator().buffer(capacity: capacity)
        }
    }

    /// The text written so far, copied into an array.
    public var bytes: [UInt8] { Array(buffer.readableBytesView) }

    /// Bytes written so far.
    public var count: Int { buffer.readableBytes }

    /// Appends raw JSON text (a punctuation mark or a literal).
    @inline(__always)
    public mutating func raw(_ text: StaticString) {
        buffer.writeStaticString(text)
    }

    /// Appends JSON text written before (see ``bytes``).
    @inline(__always)
    public mutating func append(_ text: [UInt8]) {
        buffer.writeBytes(text)
    }

    /// Makes room for `bytes` more bytes at once.
    public mutating func reserve(_ bytes: Int) {
        guard bytes > buffer.writableBytes else { return }
        buffer.reserveCapacity(minimumWritableBytes: bytes)
    }

    /// The bytes written from `start` (a ``count`` taken before) to the end, copied.
    public func bytes(from start: Int) -> [UInt8] {
        buffer.getBytes(at: buffer.readerIndex + start, length: buffer.readableBytes - start) ?? []
    }

    @inline(__always)
    private mutating func byte(_ value: UInt8) {
        buffer.writeInteger(value)
    }

    /// Appends `"key":`.
    public mutating func key(_ key: String) {
        string(key)
        byte(UInt8(ascii: ":"))
    }

    /// Appends `"key":value` to an object, after a comma unless it is the object's `first` member.
    public mutating func member(_ key: String, _ value: some BinaryInteger, first: Bool = false) {
        if !first { raw(",") }
        self.key(key)
        int(value)
    }

    /// Appends `"key":"value"` to an object, after a comma unless it is the first member.
    public mutating func member(_ key: String, _ value: String, first: Bool = false) {
        if !first { raw(",") }
        self.key(key)
        string(value)
    }

    /// Appends `"key":true` or `false` to an object.
    public mutating func member(_ key: String, _ value: Bool, first: Bool = false) {
        if !first { raw(",") }
        self.key(key)
        bool(value)
    }

    /// Appends an array of `items`, each written by `element` (objects begun and ended around it).
    public mutating func objects<Item>(_ items: [Item], _ element: (inout JSONWriter, Item) -> Void) {
        raw("[")
        for (index, item) in items.enumerated() {
            if index > 0 { raw(",") }
            raw("{")
            element(&self, item)
            raw("}")
        }
        raw("]")
    }

    /// Appends an integer (one beyond Int64 is clamped to it).
    public mutating func int(_ value: some BinaryInteger) {
        int64(Int64(clamping: value))
    }

    /// Appends an integer's digits, without making a string of them.
    private mutating func int64(_ value: Int64) {
        if value >= 0, value < 10 {
            byte(0x30 + UInt8(value))
            return
        }
        if value < 0 { byte(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            repeat {
                start -= 1
                digits[start] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: digits[start...])))
        }
    }

    /// Appends a number; a value that is not finite is written as 0 (JSON has no infinity).
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return raw("0") }
        if value == value.rounded(), abs(value) < 1e15 {
            int(Int64(value))
        } else {
            buffer.writeString(String(value))
        }
    }

    /// Appends `true` or `false`.
    public mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    /// Appends a quoted string with the characters JSON requires escaped.
    public mutating func string(_ value: String) {
        byte(UInt8(ascii: "\""))
        // Most strings need no escape: copied whole once a scan finds none.
        let copied =
            value.utf8.withContiguousStorageIfAvailable { utf8 in
                guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
                else { return false }
                buffer.writeBytes(UnsafeRawBufferPointer(utf8))
                return true
            } ?? false
        if copied {
            byte(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                self.byte(Self.hex[Int(byte >> 4)])
                self.byte(Self.hex[Int(byte & 0xF)])
            default: self.byte(byte)
            }
        }
        byte(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// Appends any value.
    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): bool(flag)
        case .int(let number): int(number)
        case .double(let number): double(number)
        case .string(let text): string(text)
        case .array(let items):
            raw("[")
            for (index, item) in items.enumerated() {
                if index > 0 { raw(",") }
                write(item)
            }
            raw("]")
        case .object(let members):
            raw("{")
            for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { raw(",") }
                key(member.key)
                write(member.value)
            }
            raw("}")
        }
    }
}
