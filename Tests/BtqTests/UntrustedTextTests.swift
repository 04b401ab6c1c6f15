import Foundation
import Testing

@testable import btq

/// Names, comments, tracker messages and client names come from the network or a `.torrent`: the
/// terminal output shows them without control characters, JSON escapes them.
@Suite(.timeLimit(.minutes(5))) struct UntrustedTextTests {
    /// A terminal title change, a colour, a bell, a carriage return, a C1 CSI and a bidi override.
    static let hostile = "evil\u{1B}]0;owned\u{07}\u{1B}[31mred\r\u{9B}2J\u{202E}txt.exe"
    static let cleaned = "evil]0;owned[31mred2Jtxt.exe"

    @Test func terminalTextDropsControlsAndOverrides() {
        #expect(TerminalText.clean(Self.hostile) == Self.cleaned)
        #expect(TerminalText.clean("plain ünïcode 名前 €") == "plain ünïcode 名前 €")
        #expect(TerminalText.clean("tab\there") == "tabhere")
    }

    @Test func jsonEscapesEveryControl() throws {
        var out: [UInt8] = []
        JSONText.appendString(Self.hostile, to: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text == #""evil\u001b]0;owned\u0007\u001b[31mred\r\u009b2J"# + "\u{202E}" + #"txt.exe""#)
        let decoded = try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) as? String
        #expect(decoded == Self.hostile)
        let encoded = JSONOutput.escapingControls(Data("\"a\u{7F}b\u{85}c\"".utf8))
        #expect(String(decoding: encoded, as: UTF8.self) == #""a\u007fb\u0085c""#)
    }

    @Test func listInfoPeersAndHistoryShowNoControlCharacters() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let escaped = Self.hostile.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let magnet = "magnet:?xt=urn:btih:b61560c2918f463768cd122b6d2fdd47b77bdb35&dn=\(escaped)"
        let added = try btq.run(["add", magnet])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains(Self.cleaned))
        try DamagedDatabaseTests.sqlite(
            btq.database,
            """
            UPDATE torrents SET comment = '\(Self.hostile)';
            INSERT INTO trackers (torrent_id, url, tier, position, last_error)
                VALUES (1, 'http://127.0.0.1:1/a', 5, 0, 'failure: \(Self.hostile)');
            INSERT INTO peers (torrent_id, address, port, client, source, first_seen_at, last_seen_at)
                VALUES (1, '127.0.0.1', 6881, '\(Self.hostile)', 'tracker', 0, 0);
            INSERT INTO events (torrent_id, at, kind, detail) VALUES (1, 1, 'error', '\(Self.hostile)');
            """)
        for command in [["list"], ["list", "--all"], ["info", "1"], ["peers", "1"], ["history"], ["history", "1"]] {
            let result = try btq.run(command)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            let controls = result.stdout.unicodeScalars.filter {
                ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || $0 == "\u{202E}"
            }
            #expect(controls.isEmpty, "\(command) printed \(controls.map { String($0.value, radix: 16) })")
            #expect(result.stdout.contains("evil"), "\(command): \(result.stdout)")
        }
        for command in [
            ["list", "--json"], ["info", "1", "--json"], ["peers", "1", "--json"], ["history", "--json"],
        ] {
            let result = try btq.run(command)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            #expect(!result.stdout.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{9B}" || $0 == "\u{07}" })
            #expect(result.stdout.lowercased().contains("\\u001b"), "\(command): \(result.stdout)")
            #expect(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) is [Any] || command[0] == "info")
        }
    }
}
