import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    HTTPTrackerFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes the parsing of HTTP tracker replies: the input as an announce body and as a scrape body
/// (``HTTPTrackerResponse``), and as text for the announce-to-scrape URL rule, peer addresses and a
/// redirect's `Location` from an `http://` and an `https://` tracker.
@main
enum HTTPTrackerFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    /// The info-hash scrape replies are searched for (the seeds use it).
    static let infoHash = [UInt8](repeating: 0xAA, count: 20)
    /// A second info-hash asked in the same multi-hash scrape.
    static let otherHash = [UInt8](repeating: 0xBB, count: 20)

    static func run(_ body: [UInt8]) {
        do {
            let response = try HTTPTrackerResponse.announce(body)
            FuzzCheck.require(response.seeders.map { $0 >= 0 } ?? true, "seeders are not negative")
            FuzzCheck.require(response.leechers.map { $0 >= 0 } ?? true, "leechers are not negative")
            FuzzCheck.require(response.peers.count <= body.count / 6, "no more peers than the body can hold")
            FuzzCheck.require(response.warning.map { $0.count <= 1024 } ?? true, "a warning is bounded")
            for peer in response.peers {
                FuzzCheck.require(PeerAddress(parsing: peer.description) == peer, "a peer address prints and parses")
            }
        } catch let error as TrackerError {
            _ = error.description
        } catch {
            FuzzCheck.require(false, "untyped error from an announce reply: \(error)")
        }
        do {
            let result = try HTTPTrackerResponse.scrape(body, infoHash: infoHash)
            FuzzCheck.require(
                result.seeders >= 0 && result.leechers >= 0 && result.completed >= 0, "scrape counts are not negative")
            FuzzCheck.require(
                result.minRequestInterval.map(ScrapeResult.minRequestIntervalRange.contains) ?? true,
                "min_request_interval is clamped")
        } catch let error as TrackerError {
            _ = error.description
        } catch {
            FuzzCheck.require(false, "untyped error from a scrape reply: \(error)")
        }
        do {
            let results = try HTTPTrackerResponse.scrape(body, infoHashes: [infoHash, otherHash])
            FuzzCheck.require(
                Set(results.keys).isSubset(of: [infoHash, otherHash]), "a multi-hash scrape answers only what it asked")
            FuzzCheck.require(
                results.values.allSatisfy { $0.seeders >= 0 && $0.leechers >= 0 && $0.completed >= 0 },
                "multi-hash scrape counts are not negative")
            let single = try? HTTPTrackerResponse.scrape(body, infoHash: infoHash)
            FuzzCheck.require(single == results[infoHash], "a hash's result is the same asked alone or with others")
        } catch let error as TrackerError {
            _ = error.description
        } catch {
            FuzzCheck.require(false, "untyped error from a multi-hash scrape reply: \(error)")
        }
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        _ = HTTPTrackerResponse.scrapeURL(announce: text)
        for base in ["http://127.0.0.1:6969/announce", "https://tracker.example/announce"] {
            guard let next = try? HTTPTrackerClient.redirectTarget(from: base, location: text) else { continue }
            FuzzCheck.require(TrackerClient.supports(next), "a redirect leads to a URL btq announces to")
            FuzzCheck.require(
                next.hasPrefix("https://") || (base.hasPrefix("http://") && next.hasPrefix("http://")),
                "https never redirects to http")
        }
        if let address = PeerAddress(parsing: text) {
            FuzzCheck.require(PeerAddress(parsing: address.description) == address, "an address prints and parses")
        }
    }
}
