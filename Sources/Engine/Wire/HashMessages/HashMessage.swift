import NIOCore

/// The merkle hash messages of BEP 52, as values: `hash request` (id 21), `hashes` (22) and
/// `hash reject` (23).
///
/// On the wire each payload starts with the same 48 bytes: the file's `pieces root` (32), then four
/// big-endian `UInt32`: the base layer (0 is the 16 KiB block layer), the index of the first hash in
/// that layer, the number of hashes (`length`) and the number of proof layers. `hashes` follows them
/// with `length` hashes of the base layer and then the uncle hashes proving them, 32 bytes each.
///
/// Bounded and linear: the decoder refuses a `length` that is not a power of two of at most
/// ``maxLength`` or that does not divide the index, a layer count past ``maxLayers``, and a `hashes`
/// message with more hashes than its request can call for (`length` plus one uncle a proof layer),
/// so a message is at most 48 + 32 × (8192 + 64) bytes and is read once.
public enum HashMessage: Hashable, Sendable {
    /// The sender asks for hashes of a file's tree.
    case request(HashRequest)
    /// The sender's answer: the request it answers and the hashes (32 bytes each, concatenated).
    case hashes(HashRequest, hashes: [UInt8])
    /// The sender will not answer the request.
    case reject(HashRequest)

    /// The message id of `hash request`.
    public static let requestID: UInt8 = 21
    /// The message id of `hashes`.
    public static let hashesID: UInt8 = 22
    /// The message id of `hash reject`.
    public static let rejectID: UInt8 = 23
    /// The most hashes of a base layer one message may carry (the reference client's limit).
    public static let maxLength: UInt32 = 8192
    /// Layers of a tree are counted below this (a tree of 2^63 leaves is beyond any file).
    public static let maxLayers: UInt32 = 64
    /// The length of the common header.
    public static let headerLength = 48

    /// True for the ids this type decodes.
    public static func handles(_ id: UInt8) -> Bool { (requestID...rejectID).contains(id) }

    /// The request the message is about.
    public var request: HashRequest {
        switch self {
        case .request(let request), .reject(let request), .hashes(let request, _): request
        }
    }

    /// The message id.
    public var id: UInt8 {
        switch self {
        case .request: Self.requestID
        case .hashes: Self.hashesID
        case .reject: Self.rejectID
        }
    }

    /// Decodes the payload of a message with id `id` (what ``PeerMessage/unknown(id:payload:)`` holds).
    ///
    /// - Throws: ``HashMessageError`` for a wrong id, a wrong length or values out of bounds.
    public init(id: UInt8, payload: ByteBuffer) throws(HashMessageError) {
        guard Self.handles(id) else { throw .notAHashMessage(id: id) }
        var payload = payload
        guard payload.readableBytes >= Self.headerLength,
            let root = payload.readBytes(length: 32),
            let base = payload.readInteger(as: UInt32.self),
            let index = payload.readInteger(as: UInt32.self),
            let length = payload.readInteger(as: UInt32.self),
            let proofLayers = payload.readInteger(as: UInt32.self)
        else { throw .wrongLength(id: id, length: payload.readableBytes) }
        let request = HashRequest(
            piecesRoot: root, baseLayer: base, index: index, length: length, proofLayers: proofLayers)
        try request.validate()
        switch id {
        case Self.hashesID:
            let rest = payload.readableBytes
            guard rest % 32 == 0, rest / 32 >= Int(length), rest / 32 <= Int(length) + Int(proofLayers) else {
                throw .wrongLength(id: id, length: Self.headerLength + rest)
            }
            self = .hashes(request, hashes: payload.readBytes(length: rest) ?? [])
        default:
            guard payload.readableBytes == 0 else {
                throw .wrongLength(id: id, length: Self.headerLength + payload.readableBytes)
            }
            self = id == Self.requestID ? .request(request) : .reject(request)
        }
    }

    /// The payload bytes (without the length prefix and id).
    public var payload: ByteBuffer {
        let request = self.request
        var buffer = ByteBuffer()
        buffer.writeBytes(request.piecesRoot)
        buffer.writeInteger(request.baseLayer)
        buffer.writeInteger(request.index)
        buffer.writeInteger(request.length)
        buffer.writeInteger(request.proofLayers)
        if case .hashes(_, let hashes) = self { buffer.writeBytes(hashes) }
        return buffer
    }

    /// The message as a peer wire message.
    public var peerMessage: PeerMessage { .unknown(id: id, payload: payload) }
}

/// What a `hash request` asks for: `length` hashes of layer `baseLayer` of the tree whose root is
/// `piecesRoot`, from `index` on, and the uncle hashes of up to `proofLayers` layers above them.
public struct HashRequest: Hashable, Sendable {
    /// The file's `pieces root` (32 bytes).
    public var piecesRoot: [UInt8]
    /// The layer of the hashes (0: the 16 KiB blocks).
    public var baseLayer: UInt32
    /// The index of the first hash in that layer; a multiple of ``length``.
    public var index: UInt32
    /// The number of hashes: a power of two, at most ``HashMessage/maxLength``.
    public var length: UInt32
    /// How many layers of uncle hashes above the requested ones to include.
    public var proofLayers: UInt32

    /// Creates a request (not validated: see ``validate()``).
    public init(piecesRoot: [UInt8], baseLayer: UInt32, index: UInt32, length: UInt32, proofLayers: UInt32) {
        self.piecesRoot = piecesRoot
        self.baseLayer = baseLayer
        self.index = index
        self.length = length
        self.proofLayers = proofLayers
    }

    /// Checks what can be checked without the torrent.
    ///
    /// - Throws: ``HashMessageError/outOfBounds(_:)``.
    public func validate() throws(HashMessageError) {
        guard piecesRoot.count == 32 else { throw .outOfBounds("a pieces root is 32 bytes") }
        guard length > 0, length <= HashMessage.maxLength, length.nonzeroBitCount == 1 else {
            throw .outOfBounds("length \(length) is not a power of two up to \(HashMessage.maxLength)")
        }
        guard index % length == 0 else { throw .outOfBounds("index \(index) is not a multiple of length \(length)") }
        guard baseLayer < HashMessage.maxLayers, proofLayers < HashMessage.maxLayers else {
            throw .outOfBounds("layer \(baseLayer) or proof layers \(proofLayers) past \(HashMessage.maxLayers)")
        }
    }
}
