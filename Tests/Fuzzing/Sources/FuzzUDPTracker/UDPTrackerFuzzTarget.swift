import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    UDPTrackerFuzzTarget.run(FuzzInput(data, size))
    return 0
}

/// Fuzzes ``UDPTrackerMessage/decodeReply(_:transactionId:expecting:ipv6:expectedScrapeCount:)``.
///
/// Input layout: one byte choosing the expected action and the address family, one byte the number
/// of hashes scraped, then the datagram. The transaction id expected is the one the datagram carries
/// (when it is long enough), so the fuzzer reaches the body instead of stopping at that check.
@main
enum UDPTrackerFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static func run(_ input: FuzzInput) {
        var input = input
        let choice = input.byte()
        let actions: [UDPTrackerMessage.Action] = [.connect, .announce, .scrape, .error]
        let action = actions[Int(choice) % actions.count]
        let ipv6 = choice & 0x80 != 0
        let scrapeCount = Int(input.byte() % 80)
        let packet = input.rest()
        let transactionId =
            packet.count >= 8
            ? packet[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } : UInt32(choice)
        let reply: UDPTrackerMessage.Reply
        do {
            reply = try UDPTrackerMessage.decodeReply(
                packet, transactionId: transactionId, expecting: action, ipv6: ipv6,
                expectedScrapeCount: scrapeCount)
        } catch let error as TrackerError {
            _ = error.description
            return
        } catch {
            FuzzCheck.require(false, "untyped error from a UDP reply: \(error)")
            return
        }
        switch reply {
        case .connected:
            FuzzCheck.require(action == .connect && packet.count >= 16, "a connect reply")
        case .announced(let response):
            FuzzCheck.require(action == .announce && packet.count >= 20, "an announce reply")
            FuzzCheck.require(response.peers.count <= (packet.count - 20) / (ipv6 ? 18 : 6), "peers fit the packet")
            FuzzCheck.require((response.seeders ?? 0) >= 0 && (response.leechers ?? 0) >= 0, "counts not negative")
        case .scraped(let results):
            FuzzCheck.require(action == .scrape && results.count == scrapeCount, "one result per hash scraped")
        case .error(let text):
            FuzzCheck.require(text.utf8.count <= 3 * 1024, "a tracker's error text is bounded")
        }
    }
}
