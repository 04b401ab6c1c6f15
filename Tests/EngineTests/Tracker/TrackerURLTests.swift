import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct TrackerURLTests {
    @Test(arguments: [
        ("http://127.0.0.1:6969/announce", "http://127.0.0.1:6969/announce", "127.0.0.1:6969"),
        (
            "HTTP://tracker.example/announce?passkey=a%20b#frag", "http://tracker.example:80/announce?passkey=a%20b",
            "tracker.example"
        ),
        ("http://[::1]:80", "http://[::1]:80/", "[::1]"),
        ("http://127.0.0.1?x=1", "http://127.0.0.1:80/?x=1", "127.0.0.1"),
        ("udp://127.0.0.1:6969", "udp://127.0.0.1:6969/", "127.0.0.1:6969"),
        ("https://tracker.example/announce", "https://tracker.example:443/announce", "tracker.example"),
        ("HTTPS://127.0.0.1:8443/announce?k=1", "https://127.0.0.1:8443/announce?k=1", "127.0.0.1:8443"),
        ("https://[::1]:443/a", "https://[::1]:443/a", "[::1]"),
        ("https://tracker.example:80/", "https://tracker.example:80/", "tracker.example:80"),
        ("udp://[::1]:6969/announce", "udp://[::1]:6969/announce", "[::1]:6969"),
        ("hTtP://127.0.0.1:06969/a?b=c:d/e#f", "http://127.0.0.1:6969/a?b=c:d/e", "127.0.0.1:6969"),
    ])
    func parses(_ text: String, _ normalized: String, _ hostHeader: String) throws {
        let url = try TrackerURL(parsing: text)
        #expect(url.description == normalized)
        #expect(url.hostHeader == hostHeader)
    }

    @Test(arguments: [
        "wss://127.0.0.1/announce", "https://127.0.0.1:0/announce", "https://user@127.0.0.1/",
        "127.0.0.1:6969/announce", "udp://127.0.0.1/announce",
        "http://user:pw@127.0.0.1/announce", "http://127.0.0.1:0/announce", "http://127.0.0.1:65536/",
        "http://127.0.0.1:/", "http:///announce", "http://[::1/announce", "http://[zz::1]:80/", "http://a:b:c/",
        "http://127.0.0.1/a b", "http://127.0.0.1:+80/", "http://127.0.0.1:8_0/", "http:/127.0.0.1/", "http:",
        "ht:tp://127.0.0.1/announce", "://127.0.0.1/announce",
        "http://127.0.0.1/a\r\nX-Evil: 1", "http://127.0.0.1/\u{e9}",
    ])
    func refuses(_ text: String) {
        #expect(throws: TrackerError.self) { try TrackerURL(parsing: text) }
        #expect(!TrackerClient.supports(text))
    }

    @Test func resolvesRedirects() throws {
        let base = try TrackerURL(parsing: "http://127.0.0.1:8080/a/announce?x=1")
        #expect(try base.resolving("/b?y=2").description == "http://127.0.0.1:8080/b?y=2")
        #expect(try base.resolving("http://127.0.0.2/c").description == "http://127.0.0.2:80/c")
        #expect(throws: TrackerError.self) { try base.resolving("//127.0.0.2/c") }
        let secure = try TrackerURL(parsing: "https://127.0.0.1/announce")
        #expect(try secure.resolving("/b").description == "https://127.0.0.1:443/b")
    }

    @Test func httpsIsSupportedAndScraped() {
        #expect(TrackerClient.supports("https://tracker.example/announce"))
        #expect(TrackerClient.canScrape("https://tracker.example/announce?passkey=1"))
        #expect(!TrackerClient.canScrape("https://tracker.example/a"))
    }

    @Test(arguments: [
        ("http://127.0.0.1/a", "https://127.0.0.1/b", "https://127.0.0.1:443/b"),
        ("http://127.0.0.1/a", "/b", "http://127.0.0.1:80/b"),
        ("https://127.0.0.1/a", "/b", "https://127.0.0.1:443/b"),
        ("https://127.0.0.1/a", "https://127.0.0.2:8443/b", "https://127.0.0.2:8443/b"),
    ])
    func redirectsKeepOrGainTLS(_ from: String, _ location: String, _ expected: String) throws {
        let next = try HTTPTrackerClient.redirect(from: TrackerURL(parsing: from), to: location)
        #expect(next.description == expected)
    }

    @Test func redirectFromHTTPSToHTTPIsRefused() throws {
        let from = try TrackerURL(parsing: "https://127.0.0.1/a")
        #expect(throws: TrackerError.insecureRedirect("http://127.0.0.2:80/b")) {
            try HTTPTrackerClient.redirect(from: from, to: "http://127.0.0.2/b")
        }
        #expect(throws: TrackerError.unsupportedURL("udp://127.0.0.2:6969/")) {
            try HTTPTrackerClient.redirect(from: from, to: "udp://127.0.0.2:6969")
        }
    }
}
