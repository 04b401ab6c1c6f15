import NIOCore
import Synchronization

/// Which transports peer connections use (the `enable_tcp` and `enable_utp` settings), the listen
/// port's UDP sockets that uTP connections are dialled from, and per address the transport that
/// worked last, so that the next dial tries it first.
///
/// Dialling (``order(for:)``): uTP first when it is on and a socket of the address's family is
/// bound, then TCP when it is on (both at once, uTP preferred for ``utpGrace``, see
/// `PeerDialer.connect(to:transports:…)`); an address where TCP got through is dialled over TCP
/// first from then on, and one whose host said nothing listens on its UDP port over TCP alone (as
/// libtorrent stops trying uTP with a peer once uTP failed): a gone peer still listed by trackers
/// costs a TCP attempt per retry, not a TCP attempt, a uTP SYN and a UDP probe. Bounded: past
/// ``maxRemembered`` addresses the oldest half is forgotten.
package final class PeerTransports: Sendable {
    /// A transport under the peer wire.
    package enum Kind: String, Sendable, Hashable {
        case tcp
        case utp
    }

    /// Whether TCP is used (listening and dialling).
    package let tcp: Bool
    /// Whether uTP is used (listening and dialling).
    package let utp: Bool
    /// The sockets uTP connections are dialled from (the listener's, one per address family bound).
    let sockets: [UTPSocket]
    /// How long a uTP dial waits for the peer's answer to its SYN before TCP is tried (3 s: the SYN
    /// and one resend; a peer that does not speak uTP never answers).
    let utpConnectTimeout: Duration
    /// When both are allowed they are dialled at once, and uTP is preferred: when TCP connects first,
    /// uTP still has this long, or as long as TCP's connect took if that is longer, to answer its SYN
    /// (20 ms: a uTP peer answers within a round trip, which TCP's connect measured; one that does not
    /// speak uTP costs about a round trip, once per address).
    let utpGrace: Duration
    /// What is known of an address.
    private enum Memory: Equatable {
        /// This transport got through last.
        case worked(Kind)
        /// Its host answered a uTP dial with "port unreachable", and nothing got through since.
        case udpPortClosed
    }

    private let remembered = Mutex<(order: [PeerAddress], table: [PeerAddress: Memory])>(([], [:]))
    /// The most addresses whose transport is remembered.
    static let maxRemembered = 4096

    /// TCP only: what the engine's in-process tests dial, and btq without a uTP socket.
    package static let tcpOnly = PeerTransports()

    package init(
        tcp: Bool = true, utp: Bool = false, sockets: [UTPSocket] = [], utpConnectTimeout: Duration = .seconds(3),
        utpGrace: Duration = .milliseconds(20)
    ) {
        self.utpGrace = utpGrace
        self.tcp = tcp
        self.utp = utp
        self.sockets = utp ? sockets : []
        self.utpConnectTimeout = utpConnectTimeout
    }

    /// The transports to try for `address`, in order (empty: none can reach it).
    func order(for address: PeerAddress) -> [Kind] {
        var kinds: [Kind] = []
        if socket(for: address) != nil { kinds.append(.utp) }
        if tcp { kinds.append(.tcp) }
        guard kinds.count == 2 else { return kinds }
        switch remembered.withLock({ $0.table[address] }) {
        case .worked(.tcp): return [.tcp, .utp]
        case .udpPortClosed: return [.tcp]
        case .worked(.utp), nil: return kinds
        }
    }

    /// The uTP socket to dial `address` from: one bound in its family, `nil` when none (or uTP is off).
    func socket(for address: PeerAddress) -> UTPSocket? {
        guard utp else { return nil }
        let wanted: NIOBSDSocket.ProtocolFamily
        switch address.host {
        case .ipv4: wanted = .inet
        case .ipv6: wanted = .inet6
        case .name: return nil
        }
        return sockets.first { $0.channel.localAddress?.protocol == wanted }
    }

    /// `kind` got through to `address`: tried first the next time.
    func remember(_ kind: Kind, for address: PeerAddress) {
        remember(.worked(kind), for: address)
    }

    /// `address`'s host said nothing listens on its UDP port: it is dialled over TCP alone (when TCP is
    /// on) until a transport gets through.
    func rememberUDPPortClosed(_ address: PeerAddress) {
        remember(.udpPortClosed, for: address)
    }

    private func remember(_ what: Memory, for address: PeerAddress) {
        remembered.withLock { memory in
            let before = memory.table.updateValue(what, forKey: address)
            guard before == nil else { return }
            memory.order.append(address)
            if memory.order.count > Self.maxRemembered {
                let forgotten = memory.order.prefix(Self.maxRemembered / 2)
                for old in forgotten { memory.table[old] = nil }
                memory.order.removeFirst(forgotten.count)
            }
        }
    }

    /// The transport that last got through to `address`, if remembered.
    func remembered(_ address: PeerAddress) -> Kind? {
        guard case .worked(let kind) = remembered.withLock({ $0.table[address] }) else { return nil }
        return kind
    }

    /// How many addresses are remembered.
    var rememberedCount: Int { remembered.withLock { $0.order.count } }
}

/// Why no transport could be used.
package enum PeerTransportError: Error, Equatable, CustomStringConvertible {
    /// Both `enable_tcp` and `enable_utp` are off: no peer could ever connect.
    case noTransportEnabled
    /// No enabled transport reaches the address (uTP only, and no socket of its family).
    case unreachable

    package var description: String {
        switch self {
        case .noTransportEnabled: "enable_tcp and enable_utp are both off: at least one transport must be on"
        case .unreachable: "no enabled transport reaches this address"
        }
    }
}
