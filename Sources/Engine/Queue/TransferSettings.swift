import Foundation

/// The transfer settings as the daemon and `btq get` use them, read from the database (defaults
/// for what is not set or unreadable).
package struct TransferSettings: Equatable, Sendable {
    package static let downloadRateKey = "download_rate_limit"
    package static let uploadRateKey = "upload_rate_limit"
    package static let seedRatioKey = "seed_ratio_limit"
    package static let seedTimeKey = "seed_time_limit"
    package static let listenPortKey = "listen_port"
    package static let bindAddressKey = "bind_address"
    package static let maxSeedsKey = "max_active_seeds"
    package static let checkAheadKey = "check_ahead"
    package static let peerQueueLimitKey = "peer_send_queue_limit"
    package static let peerMemoryLimitKey = "peer_memory_limit"
    package static let peerDrainTimeoutKey = "peer_drain_timeout"
    package static let dhtKey = "dht"
    package static let dhtBootstrapNodesKey = "dht_bootstrap_nodes"
    package static let dhtReadOnlyKey = "dht_read_only"
    package static let tlsCAFileKey = "tls_ca_file"
    package static let webSeedConnectionsKey = "web_seed_connections"
    package static let encryptionKey = "encryption"
    package static let maxOpenFilesKey = "max_open_files"
    package static let enableTCPKey = "enable_tcp"
    package static let enableUTPKey = "enable_utp"
    package static let dialsPerSecondKey = "dials_per_second"
    package static let peerRetryDelayKey = "peer_retry_delay"
    package static let peerMaxFailuresKey = "peer_max_failures"

    /// The routers other clients ship as their DHT bootstrap nodes: used when `dht_bootstrap_nodes`
    /// is not set and the table saved at the last run is empty.
    package static let defaultDHTBootstrapNodes = [
        "router.bittorrent.com:6881", "router.utorrent.com:6881", "dht.transmissionbt.com:6881",
        "dht.libtorrent.org:25401",
    ]

    /// Global limits in bytes per second (0: none).
    package var downloadRate: Int64 = 0
    package var uploadRate: Int64 = 0
    /// Seeding stops at this ratio (0: never).
    package var seedRatio: Double = 0
    /// Seeding stops after this many seconds of seeding (0: never).
    package var seedTime: Int64 = 0
    package var listenPort: UInt16 = 6881
    package var bindAddress = "0.0.0.0"
    /// Torrents seeding at once (0: a finished download stops at once).
    package var maxSeeds = 3
    /// Torrents that never ran whose data is checked at once ahead of their download slot, while every slot
    /// is taken (0: none, each is checked when its slot comes). Qualifies the whole queue at its first start:
    /// a thousand torrents added with their data in place seed as fast as they are checked, not a slotful
    /// at a time. At most ``maxCheckAhead``.
    package var checkAhead = TransferSettings.defaultCheckAhead
    package static let defaultCheckAhead = 8
    package static let maxCheckAhead = 64
    /// The limits of the process's ``PeerMemoryBudget`` (read once, when the daemon or `btq get` starts).
    package var peerQueueLimit = PeerMemoryBudget.defaultPeerQueueLimit
    package var peerMemoryLimit = PeerMemoryBudget.defaultProcessLimit
    package var peerDrainTimeout = PeerMemoryBudget.defaultDrainTimeout.components.seconds
    /// Most file descriptors the storages of every torrent keep open while idle (read once, when the
    /// daemon or `btq get` starts).
    package var maxOpenFiles = OpenFileBudget.defaultLimit
    /// Connection attempts per second over every torrent (0: no limit; read once, when the daemon or
    /// `btq get` starts). See ``DialPace``.
    package var dialsPerSecond = DialPace.defaultPerSecond
    /// After a peer's n-th failed connection in a row, it is dialled again after n + 1 times this many
    /// seconds, 1 to ``maxPeerRetryDelay`` (libtorrent's `min_reconnect_time`).
    package var peerRetryDelay = SessionConfiguration.defaultFailedReconnectDelay.components.seconds
    package static let maxPeerRetryDelay: Int64 = 86_400
    /// Failed connections in a row after which a peer's address is forgotten for an hour, 1 to
    /// ``maxPeerMaxFailures`` (libtorrent's `max_failcount`).
    package var peerMaxFailures = SessionConfiguration.defaultMaxConnectAttempts
    package static let maxPeerMaxFailures = 100
    /// Whether the process runs a DHT node (BEP 5), on the listen port over UDP.
    package var dhtEnabled = true
    /// `host:port` of the nodes to bootstrap from when the saved table is empty (an empty setting:
    /// none, only the saved table).
    package var dhtBootstrapNodes = TransferSettings.defaultDHTBootstrapNodes
    /// BEP 43: the node asks but answers no queries.
    package var dhtReadOnly = false
    /// What TLS connections (`https://` trackers and web seeds) trust: the system's store, plus `tls_ca_file` if set.
    package var tls = TLSClientSettings()
    /// Connections to each web seed (BEP 19) of a downloading torrent, 1 to 16.
    package var webSeedConnections = WebSeedConfiguration.defaultConnections
    /// MSE/PE for peer connections, both ways (the `encryption` setting).
    package var encryption = EncryptionPolicy.prefer
    /// Peer connections over TCP (listening and dialling; the `enable_tcp` setting).
    package var tcpEnabled = true
    /// Peer connections over uTP (BEP 29) on the listen port's UDP socket (the `enable_utp` setting).
    package var utpEnabled = true

    /// Throws ``PeerTransportError/noTransportEnabled`` when both transports are off.
    package func checkTransports() throws(PeerTransportError) {
        guard tcpEnabled || utpEnabled else { throw .noTransportEnabled }
    }

    /// The defaults.
    package init() {}

    /// The settings as `store` has them.
    package init(store: any QueueStore) {
        self.init(values: (try? store.settings()) ?? [:])
    }

    /// What `-1` (no limit) stands for in `max_active_downloads` and `max_active_seeds`: more torrents than
    /// any queue works at once, small enough that sums of slots never overflow.
    package static let unlimitedSlots = 1 << 30

    /// A slot setting's value: `-1` (or any negative number) is no limit, else the number (at least 0).
    package static func slots(_ text: String) -> Int? {
        guard let value = Int(text) else { return nil }
        return value < 0 ? unlimitedSlots : min(value, unlimitedSlots)
    }

    /// The settings from their text form, by name.
    package init(values: [String: String]) {
        downloadRate = values[Self.downloadRateKey].flatMap(SettingText.rate) ?? 0
        uploadRate = values[Self.uploadRateKey].flatMap(SettingText.rate) ?? 0
        seedRatio = values[Self.seedRatioKey].flatMap(SettingText.ratio) ?? 0
        seedTime = values[Self.seedTimeKey].flatMap(SettingText.duration) ?? 0
        listenPort = values[Self.listenPortKey].flatMap { UInt16($0) }.flatMap { $0 > 0 ? $0 : nil } ?? 6881
        bindAddress = values[Self.bindAddressKey].flatMap(SettingText.ipAddress) ?? "0.0.0.0"
        maxSeeds = values[Self.maxSeedsKey].flatMap(Self.slots) ?? 3
        checkAhead =
            values[Self.checkAheadKey].flatMap { Int($0) }.map { min(max($0, 0), Self.maxCheckAhead) }
            ?? Self.defaultCheckAhead
        let budget = PeerMemoryBudget()
        peerQueueLimit = values[Self.peerQueueLimitKey].flatMap(SettingText.rate).map(Int.init) ?? budget.peerQueueLimit
        peerMemoryLimit = values[Self.peerMemoryLimitKey].flatMap(SettingText.rate).map(Int.init) ?? budget.processLimit
        peerDrainTimeout =
            values[Self.peerDrainTimeoutKey].flatMap(SettingText.duration).map { max(1, $0) }
            ?? budget.drainTimeout.components.seconds
        dhtEnabled = values[Self.dhtKey].flatMap(SettingText.boolean) ?? true
        dhtReadOnly = values[Self.dhtReadOnlyKey].flatMap(SettingText.boolean) ?? false
        webSeedConnections =
            values[Self.webSeedConnectionsKey].flatMap { Int($0) }.map {
                min(max($0, 1), WebSeedConfiguration.maxConnections)
            } ?? WebSeedConfiguration.defaultConnections
        if let nodes = values[Self.dhtBootstrapNodesKey] {
            dhtBootstrapNodes = SettingText.list(nodes)
        }
        tls = TLSClientSettings(extraCAFile: values[Self.tlsCAFileKey])
        encryption = values[Self.encryptionKey].flatMap(EncryptionPolicy.init(rawValue:)) ?? .prefer
        tcpEnabled = values[Self.enableTCPKey].flatMap(SettingText.boolean) ?? true
        utpEnabled = values[Self.enableUTPKey].flatMap(SettingText.boolean) ?? true
        maxOpenFiles =
            values[Self.maxOpenFilesKey].flatMap { Int($0) }.map { max(1, $0) } ?? OpenFileBudget.defaultLimit
        dialsPerSecond =
            values[Self.dialsPerSecondKey].flatMap { Int($0) }.map { max(0, $0) } ?? DialPace.defaultPerSecond
        peerRetryDelay =
            values[Self.peerRetryDelayKey].flatMap(SettingText.duration).map { min(max(1, $0), Self.maxPeerRetryDelay) }
            ?? SessionConfiguration.defaultFailedReconnectDelay.components.seconds
        peerMaxFailures =
            values[Self.peerMaxFailuresKey].flatMap { Int($0) }.map { min(max(1, $0), Self.maxPeerMaxFailures) }
            ?? SessionConfiguration.defaultMaxConnectAttempts
    }

    /// Sets how the sessions of `configuration` dial: the process's pace, and the back-off of peers that
    /// fail to connect.
    package func applyDialling(to configuration: inout SessionConfiguration) {
        configuration.dialPace = dialPace()
        configuration.failedReconnectDelay = .seconds(peerRetryDelay)
        configuration.maxConnectAttempts = peerMaxFailures
    }

    /// The process's dial pace with this setting (`nil`: no limit).
    package func dialPace() -> DialPace? {
        dialsPerSecond > 0 ? DialPace(perSecond: dialsPerSecond) : nil
    }

    /// A fresh budget for the process's peers with these limits.
    package func memoryBudget() -> PeerMemoryBudget {
        PeerMemoryBudget(
            peerQueueLimit: peerQueueLimit, processLimit: peerMemoryLimit, drainTimeout: .seconds(peerDrainTimeout))
    }
}

/// The process-wide rate limiters, shared by every session, and each torrent's own.
package final class RateLimiters: Sendable {
    package let globalDownload = RateLimiter()
    package let globalUpload = RateLimiter()

    /// Limiters without limits until ``apply(_:)``.
    package init() {}

    /// Limits for a torrent: the global limiters and its own (at `own`).
    package func limits(own: TorrentRateLimits) -> TransferLimits {
        TransferLimits(
            globalDownload: globalDownload, globalUpload: globalUpload,
            download: RateLimiter(bytesPerSecond: Int(own.download ?? 0)),
            upload: RateLimiter(bytesPerSecond: Int(own.upload ?? 0)))
    }

    /// Follows the global settings.
    package func apply(_ settings: TransferSettings) {
        globalDownload.setRate(Int(settings.downloadRate))
        globalUpload.setRate(Int(settings.uploadRate))
    }
}

extension TransferLimits {
    /// Follows a torrent's own limits.
    package func apply(_ own: TorrentRateLimits) {
        download.setRate(Int(own.download ?? 0))
        upload.setRate(Int(own.upload ?? 0))
    }
}

extension TransferSettings {
    /// The seed limits, to tell whether they changed: a seed's look (see ``seedLimitReached(uploaded:base:seededSeconds:)``)
    /// depends on nothing else of the settings.
    package struct SeedLimits: Equatable, Sendable {
        var ratio: Double
        var time: Int64
    }

    /// The seed limits of these settings.
    package var seedLimits: SeedLimits { SeedLimits(ratio: seedRatio, time: seedTime) }

    /// Which seed limit is reached, said for the history, or `nil`: `uploaded` over `base` (the bytes
    /// downloaded, or the verified bytes for a torrent seeded from data already in place) against
    /// ``seedRatio``, and `seededSeconds` against ``seedTime``.
    package func seedLimitReached(uploaded: Int64, base: Int64, seededSeconds: Int64) -> String? {
        if seedRatio > 0, base > 0 {
            let ratio = Double(uploaded) / Double(base)
            if ratio >= seedRatio {
                return String(format: "ratio %.2f reached the limit %g", ratio, seedRatio)
            }
        }
        if seedTime > 0, seededSeconds >= seedTime {
            return "seeded \(seededSeconds) s, the limit is \(seedTime) s"
        }
        return nil
    }
}
