/// How the RPC server listens and whom it lets in (the `rpc_*` settings).
public struct RPCSettings: Sendable, Equatable {
    /// The setting names.
    public static let enabledKey = "rpc_enabled"
    public static let bindAddressKey = "rpc_bind_address"
    public static let portKey = "rpc_port"
    public static let usernameKey = "rpc_username"
    public static let passwordKey = "rpc_password"
    public static let whitelistKey = "rpc_whitelist"
    public static let webDirectoryKey = "rpc_web_dir"
    /// Where Debian's transmission-common installs the web interface.
    public static let distributionWebDirectory = "/usr/share/transmission/web"

    /// The address listened on (default 127.0.0.1).
    public var bindAddress = "127.0.0.1"
    /// The TCP port (default 9091).
    public var port = 9091
    /// The user name basic authentication asks for; empty: any.
    public var username = ""
    /// The hashed password; `nil`: no authentication.
    public var password: RPCPassword?
    /// Host names (and `*` patterns) a request's `Host` header may name, beside addresses and `localhost`.
    public var whitelist: [String] = []
    /// The folder of the web interface, `nil` when there is none.
    public var webDirectory: String?
    /// The largest request body read (a larger one is refused with 413 before it is read).
    public var maximumBodySize = 32 << 20
    /// Connections served at once; more are closed at accept.
    public var maximumConnections = 64
    /// Seconds a connection may stay without a request before it is closed.
    public var idleTimeoutSeconds: Int64 = 30
    /// Torrent ids a request may name, fields it may ask for.
    public var maximumIds = 100_000

    public init() {}

    /// True when the bind address is a loopback one (127.0.0.0/8, ::1).
    public var isLoopbackBind: Bool {
        bindAddress.hasPrefix("127.") || bindAddress == "::1" || bindAddress == "localhost"
    }

    /// The URL the server answers on, for the log line at start.
    public var url: String {
        let host = bindAddress.contains(":") ? "[\(bindAddress)]" : bindAddress
        return "http://\(host):\(port)/transmission/"
    }
}
