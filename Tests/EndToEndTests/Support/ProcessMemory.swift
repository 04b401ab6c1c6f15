import Foundation

/// The memory of a running process, from `/proc/PID/status`.
struct ProcessMemory: Sendable, CustomStringConvertible {
    /// Resident set size now (`VmRSS`), in bytes.
    let resident: Int
    /// The highest resident set size so far (`VmHWM`, high water mark), in bytes.
    let peak: Int

    /// Reads it for `pid`; throws once the process is gone.
    init(pid: Int32) throws {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) throws -> Int {
            for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
                // "VmRSS:	   35120 kB"
                let parts = line.dropFirst(name.count + 1).split(whereSeparator: \.isWhitespace)
                if let value = parts.first.flatMap({ Int($0) }), parts.dropFirst().first == "kB" {
                    return value * 1024
                }
            }
            throw HarnessError("no \(name) in /proc/\(pid)/status")
        }
        resident = try field("VmRSS")
        peak = try field("VmHWM")
    }

    var description: String { "RSS \(Self.mebibytes(resident)), peak \(Self.mebibytes(peak))" }

    /// `bytes` in MiB with one decimal, e.g. `35.2 MiB`.
    static func mebibytes(_ bytes: Int) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}
