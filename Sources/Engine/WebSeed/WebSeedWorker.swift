import NIOCore
import NIOHTTP1

/// What a web seed connection does next, as its torrent's session decides (``WebSeedHost``).
enum WebSeedWork: Sendable {
    /// Fetch these blocks.
    case fetch(WebSeedRun)
    /// Nothing to fetch now (or resting after failures): ask again after this long.
    case wait(Duration)
    /// The web seed is done: the download is complete, stopping, or the web seed was dropped.
    case stop
}

/// The torrent session, as a web seed connection sees it: it hands out blocks from its picker like
/// to a peer, takes the blocks fetched into the same assembly and verification, and judges failures.
protocol WebSeedHost: Sendable {
    /// The next blocks for the connection at `key`.
    func webSeedWork(_ key: PeerKey) async -> WebSeedWork
    /// Blocks of the current run arrived. False when the connection is to stop.
    func webSeedReceived(_ blocks: [(BlockRequest, ByteBuffer)], from key: PeerKey) async -> Bool
    /// The current run ended: fetched whole (`error` nil) or not; blocks not delivered go back to the picker.
    func webSeedRunEnded(_ key: PeerKey, error: WebSeedError?) async
    /// How long to pause reading after `bytes` arrived (the download rate limits).
    func webSeedReadPause(after bytes: Int) -> Duration
}

/// One connection's worth of a web seed: asks its session for runs of blocks, fetches each with one
/// ranged `GET` per file it crosses (over a kept-alive connection while the server allows), cuts the
/// bytes into blocks and hands them over as they arrive. Redirects are followed within
/// ``WebSeedConfiguration/maxRedirects`` hops per request.
struct WebSeedWorker: Sendable {
    /// The picker's key for this connection.
    let key: PeerKey
    let urls: WebSeedURLs
    let group: any EventLoopGroup
    let configuration: WebSeedConfiguration
    let host: any WebSeedHost

    /// Most redirected file URLs remembered per connection.
    static let maxRememberedRedirects = 256

    /// A run being fetched: its file spans, the next one to ask for, and the blocks cut so far.
    private struct Job: Sendable {
        var run: WebSeedRun
        var spans: [WebSeedSpan]
        var next = 0
        /// Stream offset up to which bytes were handed to the cutter.
        var cursor: Int64
        var cutter: WebSeedBlockCutter
        /// Redirects followed for the current span.
        var hops = 0

        init(_ run: WebSeedRun, files: TorrentFiles) {
            self.run = run
            spans = WebSeedSpan.spans(of: run.range, files: files)
            cursor = run.range.lowerBound
            cutter = WebSeedBlockCutter(run)
        }
    }

    /// How a connection's turn ended.
    private enum Exit: Sendable {
        case stop
        case wait(Duration)
        /// Go on with this job on another connection (a redirect, a response that closes).
        case reconnect(Job)
        case failed(WebSeedError)
    }

    /// Runs until the session says stop or the task is cancelled.
    func run() async {
        var redirects: [Int: String] = [:]
        var job: Job?
        while !Task.isCancelled {
            if job == nil {
                switch await host.webSeedWork(key) {
                case .stop:
                    return
                case .wait(let delay):
                    guard (try? await Task.sleep(for: delay)) != nil else { return }
                    continue
                case .fetch(let run):
                    job = Job(run, files: urls.files)
                }
            }
            guard var current = job else { continue }
            // Pads before the next span, or the end of the run: no request needed.
            guard await fillGap(&current) else { return }
            guard current.next < current.spans.count else {
                await host.webSeedRunEnded(key, error: nil)
                job = nil
                continue
            }
            let exit = await connectAndFetch(current, redirects: &redirects)
            job = nil
            switch exit {
            case .stop:
                await host.webSeedRunEnded(key, error: nil)
                return
            case .wait(let delay):
                guard (try? await Task.sleep(for: delay)) != nil else { return }
            case .reconnect(let next):
                job = next
            case .failed(let error):
                // Cancelled (the session's run ends): its connection was cut, the server did nothing wrong.
                await host.webSeedRunEnded(key, error: Task.isCancelled ? nil : error)
            }
        }
    }

    /// Hands the zeros of pad files before the next span (or up to the run's end) to the cutter.
    /// False when the connection is to stop.
    private func fillGap(_ job: inout Job) async -> Bool {
        let until = job.next < job.spans.count ? job.spans[job.next].streamOffset : job.run.range.upperBound
        while job.cursor < until {
            let count = Int(min(until - job.cursor, 64 << 10))
            job.cursor += Int64(count)
            let blocks = job.cutter.appendZeros(count)
            if !blocks.isEmpty, !(await host.webSeedReceived(blocks, from: key)) { return false }
        }
        return true
    }

    /// The URL of a span's file (where a redirect sent us before, or as BEP 19 lays it out).
    private func target(of span: WebSeedSpan, redirects: [Int: String]) throws(WebSeedError) -> TrackerURL {
        let text = redirects[span.file] ?? urls.url(ofFile: span.file)
        guard let url = try? TrackerURL(parsing: text), url.scheme == .http || url.scheme == .https else {
            throw .unsupportedURL(String(text.prefix(200)))
        }
        return url
    }

    /// Opens a connection for the job's next span and fetches spans, and further runs, over it while
    /// they go to the same server and it stays reusable.
    private func connectAndFetch(_ job: Job, redirects: inout [Int: String]) async -> Exit {
        let url: TrackerURL
        let connection: WebSeedChannel.Connection
        do throws(WebSeedError) {
            url = try target(of: job.spans[job.next], redirects: redirects)
            connection = try await WebSeedChannel.connect(
                to: .init(url), group: group, configuration: configuration)
        } catch {
            return .failed(error)
        }
        var remembered = redirects
        let exit: Exit
        do {
            exit = try await connection.executeThenClose { inbound, outbound in
                var responses = inbound.makeAsyncIterator()
                var job = job
                while true {
                    let span = job.spans[job.next]
                    let spanURL: TrackerURL
                    do throws(WebSeedError) {
                        spanURL = try target(of: span, redirects: remembered)
                    } catch {
                        return .failed(error)
                    }
                    guard spanURL.host == url.host, spanURL.port == url.port, spanURL.scheme == url.scheme else {
                        return .reconnect(job)
                    }
                    let outcome = try await fetch(
                        span, at: spanURL, job: &job, responses: &responses, outbound: outbound)
                    switch outcome {
                    case .stop:
                        return .stop
                    case .redirect(let location):
                        job.hops += 1
                        guard job.hops <= configuration.maxRedirects else {
                            return .failed(.badRedirect("more than \(configuration.maxRedirects) redirects"))
                        }
                        // Once TLS, always TLS: an https web seed never redirects to plain http.
                        guard let next = try? spanURL.resolving(location),
                            next.scheme == .https || (next.scheme == .http && spanURL.scheme == .http)
                        else {
                            return .failed(.badRedirect("to \(String(location.prefix(200)))"))
                        }
                        if remembered.count < Self.maxRememberedRedirects || remembered[span.file] != nil {
                            remembered[span.file] = next.description
                        }
                        return .reconnect(job)
                    case .done(let reusable):
                        job.next += 1
                        job.hops = 0
                        job.cursor = span.streamOffset + Int64(span.length)
                        guard await fillGap(&job) else { return .stop }
                        if job.next == job.spans.count {
                            await host.webSeedRunEnded(key, error: nil)
                            switch await host.webSeedWork(key) {
                            case .stop: return .stop
                            case .wait(let delay): return .wait(delay)
                            case .fetch(let run):
                                job = Job(run, files: urls.files)
                                guard await fillGap(&job) else { return .stop }
                                if job.next == job.spans.count { return .reconnect(job) }
                            }
                        }
                        if !reusable { return .reconnect(job) }
                    }
                }
            }
        } catch {
            exit = .failed(WebSeedChannel.translate(error, host: url.scheme == .https ? url.host : nil))
        }
        redirects = remembered
        return exit
    }

    private enum SpanOutcome {
        case done(reusable: Bool)
        case redirect(String)
        case stop
    }

    /// Asks for one span on the connection and reads its response, handing whole blocks over as they
    /// arrive.
    private func fetch(
        _ span: WebSeedSpan, at url: TrackerURL, job: inout Job,
        responses: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    ) async throws -> SpanOutcome {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.hostHeader)
        headers.add(name: "User-Agent", value: configuration.userAgent)
        headers.add(name: "Range", value: span.rangeHeader)
        headers.add(name: "Accept-Encoding", value: "identity")
        try await outbound.write(
            contentsOf: [
                .head(HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target, headers: headers)), .end(nil),
            ])
        var reader = WebSeedResponseReader(offset: span.fileOffset, length: span.length)
        while true {
            guard let part = try await responses.next() else {
                try reader.end(connectionClosed: true)
                return .done(reusable: false)
            }
            switch part {
            case .head(let head):
                switch reader.head(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }) {
                case .read: continue
                case .redirect(let location): return .redirect(location)
                case .failed(let error): throw error
                }
            case .body(let buffer):
                let taken = try reader.body(buffer.readableBytes)
                let blocks = job.cutter.append(buffer.readableBytesView.prefix(taken))
                if !blocks.isEmpty, !(await host.webSeedReceived(blocks, from: key)) { return .stop }
                let pause = host.webSeedReadPause(after: taken)
                if pause > .zero { try await Task.sleep(for: pause) }
                if reader.isComplete, !reader.reusable { return .done(reusable: false) }
            case .end:
                try reader.end()
                return .done(reusable: reader.reusable)
            }
        }
    }
}
