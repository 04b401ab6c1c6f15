import Engine
import FuzzSupport

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    WebSeedFuzzTarget.run(FuzzInput.copy(data, size))
    return 0
}

/// Fuzzes the web seed response reader (``WebSeedResponseReader``): the input is the range asked for
/// (4 bytes: offset and length), a response head as text (`STATUS` then `Name: value` lines, ended by an
/// empty line), and the sizes of the body chunks that follow (one byte each, times 97). The reader must
/// never take more bytes than asked, and fail with a typed error on anything else.
@main
enum WebSeedFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static func run(_ input: [UInt8]) {
        guard input.count >= 4 else { return }
        let offset = Int64(input[0]) << 8 | Int64(input[1])
        let length = (Int(input[2]) << 8 | Int(input[3])) + 1
        let rest = input.dropFirst(4)
        let text = String(decoding: rest.prefix(8192), as: UTF8.self)
        let headText = text.components(separatedBy: "\r\n\r\n").first ?? ""
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let status = lines.isEmpty ? 0 : Int(lines.removeFirst().prefix(6)) ?? 0
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        let chunkSizes = Array(rest.suffix(64)).map { Int($0) * 97 }
        var reader = WebSeedResponseReader(offset: offset, length: length)
        switch reader.head(status: status, headers: headers) {
        case .redirect(let location):
            FuzzCheck.require(!location.isEmpty, "a redirect has a location")
            FuzzCheck.require(!reader.reusable, "a redirect closes the connection")
            return
        case .failed(let error):
            _ = error.description
            FuzzCheck.require(!reader.reusable, "a failed response closes the connection")
            return
        case .read:
            break
        }
        var taken = 0
        for size in chunkSizes {
            do throws(WebSeedError) {
                let accepted = try reader.body(size)
                FuzzCheck.require(accepted >= 0 && accepted <= size, "a chunk gives at most its bytes")
                taken += accepted
            } catch {
                _ = error.description
                break
            }
            FuzzCheck.require(taken == reader.received && taken <= length, "never more than the range")
            if reader.isComplete { break }
        }
        do throws(WebSeedError) {
            try reader.end(connectionClosed: chunkSizes.first.map { $0 % 2 == 0 } ?? true)
            FuzzCheck.require(reader.isComplete, "an accepted response has every byte")
        } catch {
            _ = error.description
        }
    }
}
