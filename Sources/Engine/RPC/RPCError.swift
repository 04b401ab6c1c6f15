/// Why an RPC request was not carried out. Its ``description`` is what the answer's `result` says.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case invalidJSON
        case unknownMethod
        case invalidArgument
        case notFound
        case unsupported
        case failed
    }

    private let kind: Kind
    /// What went wrong, in words (the answer's `result`).
    public let description: String

    private init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// The body is not JSON, or not a request object.
    public static func invalidJSON(_ detail: String) -> RPCError { RPCError(.invalidJSON, detail) }
    /// A method the server does not know.
    public static func unknownMethod(_ name: String) -> RPCError {
        RPCError(.unknownMethod, "method name not recognized: \(name)")
    }
    /// An argument of the wrong type or out of range.
    public static func invalidArgument(_ detail: String) -> RPCError { RPCError(.invalidArgument, detail) }
    /// A torrent or file that does not exist.
    public static func notFound(_ detail: String) -> RPCError { RPCError(.notFound, detail) }
    /// Something btq does not do (said rather than pretended).
    public static func unsupported(_ detail: String) -> RPCError { RPCError(.unsupported, detail) }
    /// The store or the file system refused.
    public static func failed(_ detail: String) -> RPCError { RPCError(.failed, detail) }
}
