import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    MagnetFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes ``MagnetLink/init(parsing:)`` on the input as text: an accepted link must write a URI
/// (``MagnetLink/makeURI()``) that parses back to the same link.
@main
enum MagnetFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let link = try? MagnetLink(parsing: text) else { return }
        FuzzCheck.require(link.uri == text, "the link keeps the URI as given")
        let uri = link.makeURI()
        guard uri.utf8.count <= MagnetLink.maxURILength else { return }
        let again: MagnetLink
        do {
            again = try MagnetLink(parsing: uri)
        } catch {
            FuzzCheck.require(false, "the written URI \(uri) does not parse: \(error)")
            return
        }
        FuzzCheck.require(again.infoHashes == link.infoHashes, "the info-hashes survive a round trip")
        FuzzCheck.require(again.displayName == link.displayName, "the name survives a round trip")
        FuzzCheck.require(again.trackers == link.trackers, "the trackers survive a round trip")
        FuzzCheck.require(again.webSeeds == link.webSeeds, "the web seeds survive a round trip")
        FuzzCheck.require(again.peers == link.peers, "the peers survive a round trip")
        FuzzCheck.require(again.makeURI() == uri, "the written URI is a fixed point")
    }
}
