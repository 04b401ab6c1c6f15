import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    DHTNodeFuzzTarget.run(FuzzInput(data, size))
    return 0
}

/// Fuzzes a ``DHTNodeCore`` (what the node decides, past the KRPC codec that `FuzzKRPC` covers) with a
/// script read from the input: raw packets from a handful of addresses of both families; answers and
/// errors to the node's own queries, built from a few bytes under the transaction ids it chose (so that
/// lookups go deep: nodes, peers, tokens, our own id claimed, answers from the wrong address); lookups
/// started; the clock moved. After every step the node's promises must hold: every packet it sends is
/// a KRPC packet within the size cap, to an address of its family; a read-only node sends only
/// queries; lookups, peers per lookup and the table stay within their caps; the table holds neither
/// our id nor two nodes at one address; no lookup reports after it finished.
@main
enum DHTNodeFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static let maxSteps = 2048
    static let start = ContinuousClock.now

    /// One of 16 IPv4 addresses, or one of 2 IPv6 ones (another family than the node's: ignored).
    static func address(_ choice: UInt8) -> PeerAddress {
        let index = choice % 18
        guard index < 16 else {
            return PeerAddress(host: .ipv6([UInt8](repeating: 0, count: 15) + [1]), port: 6881 + UInt16(index - 16))
        }
        return PeerAddress(host: .ipv4(127, 0, 0, index + 1), port: 6881)
    }

    /// An id from one byte: the byte spread over the id, so that few bytes make ids near and far.
    static func id(_ choice: UInt8, own: NodeID) -> NodeID {
        var bytes = own.bytes
        bytes[Int(choice % 20)] ^= choice | 1
        if choice & 0x80 != 0 { bytes[0] ^= 0x80 }
        return NodeID(bytes)!
    }

    static func run(_ input: FuzzInput) {
        var input = input
        let readOnly = input.flag()
        var node = DHTNodeCore(family: .ipv4, id: .random(), readOnly: readOnly, now: start)
        let own = node.ownID
        var now = start
        var received: Int64 = 0
        /// The node's queries the script has not answered: where each went, under which transaction.
        var queries: [(address: PeerAddress, transaction: [UInt8])] = []
        var peersReported: [Int: Int] = [:]
        var finished: Set<Int> = []
        for _ in 0..<maxSteps where !input.isEmpty {
            var step = DHTNodeCore.Step()
            switch input.byte() % 6 {
            case 0:
                let from = address(input.byte())
                received += 1
                step = node.received(Array(input.chunk(upTo: 5000)), from: from, now: now)
            case 1, 2:
                guard !queries.isEmpty else { continue }
                let asked = queries.remove(at: input.number(below: queries.count))
                let from = input.byte() % 8 == 0 ? address(input.byte()) : asked.address
                let body: KRPCMessage.Body
                if input.byte() % 8 == 0 {
                    body = .error(code: 201, message: "no")
                } else {
                    let sender = input.byte() % 16 == 0 ? own : id(input.byte(), own: own)
                    let nodes = (0..<Int(input.byte() % 24)).map { _ in
                        DHTNode(id: id(input.byte(), own: own), address: address(input.byte()))
                    }
                    let values = (0..<Int(input.byte() % 40)).map { _ in
                        PeerAddress(host: .ipv4(127, 1, 0, input.byte()), port: UInt16(input.byte()))
                    }
                    let token = input.flag() ? Array(input.chunk(upTo: 32)) : nil
                    body = .response(KRPCResponse(sender: sender, nodes: nodes, values: values, token: token))
                }
                let answer = KRPCMessage(transaction: asked.transaction, body: body, requester: address(input.byte()))
                received += 1
                step = node.received(answer.encoded, from: from, now: now)
            case 3:
                now += .milliseconds(Int(input.byte()) * 40)
                step = node.tick(now: now)
            case 4:
                now += .seconds(Int(input.byte()) * 8)
                step = node.tick(now: now)
            default:
                let kind: DHTLookup.Kind = input.flag() ? .getPeers : .findNode
                let target = id(input.byte(), own: own)
                let port: UInt16? = input.flag() ? UInt16(input.byte()) : nil
                let seeds = (0..<Int(input.byte() % 5)).map { _ in address(input.byte()) }
                _ = node.startLookup(kind, target: target, announcePort: port, seeds: seeds, now: now, into: &step)
            }
            check(step, of: node, readOnly: readOnly, peersReported: &peersReported, finished: &finished)
            FuzzCheck.require(
                node.counters.packetsIn == received, "packets in: \(node.counters.packetsIn) of \(received)")
            for packet in step.packets where packet.isQuery {
                guard let message = try? KRPCMessage(decoding: packet.bytes) else { continue }
                queries.append((packet.address, message.transaction))
            }
            if queries.count > 256 { queries.removeFirst(queries.count - 256) }
        }
    }

    static func check(
        _ step: DHTNodeCore.Step, of node: DHTNodeCore, readOnly: Bool, peersReported: inout [Int: Int],
        finished: inout Set<Int>
    ) {
        for packet in step.packets {
            FuzzCheck.require(
                packet.bytes.count <= KRPCMessage.Limits.maxPacket, "a packet of \(packet.bytes.count) bytes")
            do {
                _ = try KRPCMessage(decoding: packet.bytes)
            } catch {
                FuzzCheck.require(false, "a packet that does not decode (\(error)): \(packet.bytes)")
            }
            if case .ipv4 = packet.address.host {} else { FuzzCheck.require(false, "a packet to \(packet.address)") }
            FuzzCheck.require(!readOnly || packet.isQuery, "a read-only node answered")
        }
        for event in step.events {
            switch event {
            case .peers(let lookup, let peers):
                FuzzCheck.require(!finished.contains(lookup), "peers from lookup \(lookup) after it finished")
                peersReported[lookup, default: 0] += peers.count
                FuzzCheck.require(peersReported[lookup]! <= DHTLookup.maxPeers, "over the peers of a lookup")
            case .finished(let lookup):
                FuzzCheck.require(finished.insert(lookup).inserted, "lookup \(lookup) finished twice")
            }
        }
        FuzzCheck.require(node.lookupCount <= DHTNodeCore.maxLookups, "\(node.lookupCount) lookups")
        let entries = node.table.entries
        FuzzCheck.require(entries.count <= 160 * RoutingTable.bucketSize, "\(entries.count) nodes in the table")
        FuzzCheck.require(!entries.contains { $0.node.id == node.ownID }, "our own id in the table")
        FuzzCheck.require(Set(entries.map(\.node.address)).count == entries.count, "two nodes at one address")
        FuzzCheck.require(node.table.usableCount <= entries.count, "more usable nodes than nodes")
    }
}
