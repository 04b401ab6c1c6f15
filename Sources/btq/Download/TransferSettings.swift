import Engine
import Foundation
import Store

extension ConfigKey {
    /// The settings of uploading, rate limits, seeding limits and the listening socket.
    static let transferKeys: [ConfigKey] = [
        ConfigKey(
            name: TransferSettings.downloadRateKey,
            help: "bytes/s all torrents download at most (K, M suffixes; 0: none)",
            defaultValue: "0", minimum: 0, kind: .rate),
        ConfigKey(
            name: TransferSettings.uploadRateKey, help: "bytes/s all torrents upload at most (K, M suffixes; 0: none)",
            defaultValue: "0", minimum: 0, kind: .rate),
        ConfigKey(
            name: TransferSettings.seedRatioKey, help: "stop seeding at this upload/download ratio (0: never)",
            defaultValue: "0", minimum: 0, kind: .ratio),
        ConfigKey(
            name: TransferSettings.seedTimeKey, help: "stop seeding after this long seeding, e.g. 12h (0: never)",
            defaultValue: "0", minimum: 0, kind: .duration),
        ConfigKey(
            name: TransferSettings.listenPortKey, help: "TCP port for incoming peers (`--port` overrides it)",
            defaultValue: "6881", minimum: 1, kind: .port),
        ConfigKey(
            name: TransferSettings.bindAddressKey, help: "address to listen on (`--bind-address` overrides it)",
            defaultValue: "0.0.0.0", minimum: 0, kind: .address),
        ConfigKey(
            name: TransferSettings.peerQueueLimitKey,
            help: "bytes queued to send to one peer before it is not read from (K, M suffixes)",
            defaultValue: String(PeerMemoryBudget.defaultPeerQueueLimit), minimum: 64 << 10, kind: .size),
        ConfigKey(
            name: TransferSettings.peerMemoryLimitKey,
            help: "bytes held for all peers at once (send queues, partial frames) before the biggest are paused",
            defaultValue: String(PeerMemoryBudget.defaultProcessLimit), minimum: 1 << 20, kind: .size),
        ConfigKey(
            name: TransferSettings.peerDrainTimeoutKey,
            help: "seconds a peer over its send queue limit has to drain before it is dropped",
            defaultValue: String(PeerMemoryBudget.defaultDrainTimeout.components.seconds), minimum: 1,
            kind: .duration),
    ]
}

/// The transfer settings as the daemon and `btq get` use them, read from the database (defaults
/// for what is not set or unreadable).
struct TransferSettings: Equatable {
    static let downloadRateKey = "download_rate_limit"
    static let uploadRateKey = "upload_rate_limit"
    static let seedRatioKey = "seed_ratio_limit"
    static let seedTimeKey = "seed_time_limit"
    static let listenPortKey = "listen_port"
    static let bindAddressKey = "bind_address"
    static let maxSeedsKey = "max_active_seeds"
    static let peerQueueLimitKey = "peer_send_queue_limit"
    static let peerMemoryLimitKey = "peer_memory_limit"
    static let peerDrainTimeoutKey = "peer_drain_timeout"

    /// Global limits in bytes per second (0: none).
    var downloadRate: Int64 = 0
    var uploadRate: Int64 = 0
    /// Seeding stops at this ratio (0: never).
    var seedRatio: Double = 0
    /// Seeding stops after this many seconds of seeding (0: never).
    var seedTime: Int64 = 0
    var listenPort: UInt16 = 6881
    var bindAddress = "0.0.0.0"
    /// Torrents seeding at once (0: a finished download stops at once).
    var maxSeeds = 3
    /// The limits of the process's ``PeerMemoryBudget`` (read once, when the daemon or `btq get` starts).
    var peerQueueLimit = PeerMemoryBudget.defaultPeerQueueLimit
    var peerMemoryLimit = PeerMemoryBudget.defaultProcessLimit
    var peerDrainTimeout = PeerMemoryBudget.defaultDrainTimeout.components.seconds

    init() {}

    init(store: BtqStore) {
        let values = (try? store.settings()) ?? [:]
        downloadRate = values[Self.downloadRateKey].flatMap(SettingText.rate) ?? 0
        uploadRate = values[Self.uploadRateKey].flatMap(SettingText.rate) ?? 0
        seedRatio = values[Self.seedRatioKey].flatMap(SettingText.ratio) ?? 0
        seedTime = values[Self.seedTimeKey].flatMap(SettingText.duration) ?? 0
        listenPort = values[Self.listenPortKey].flatMap { UInt16($0) }.flatMap { $0 > 0 ? $0 : nil } ?? 6881
        bindAddress = values[Self.bindAddressKey].flatMap(SettingText.ipAddress) ?? "0.0.0.0"
        maxSeeds = values[Self.maxSeedsKey].flatMap { Int($0) }.map { max(0, $0) } ?? 3
        let budget = PeerMemoryBudget()
        peerQueueLimit = values[Self.peerQueueLimitKey].flatMap(SettingText.rate).map(Int.init) ?? budget.peerQueueLimit
        peerMemoryLimit = values[Self.peerMemoryLimitKey].flatMap(SettingText.rate).map(Int.init) ?? budget.processLimit
        peerDrainTimeout =
            values[Self.peerDrainTimeoutKey].flatMap(SettingText.duration).map { max(1, $0) }
            ?? budget.drainTimeout.components.seconds
    }

    /// A fresh budget for the process's peers with these limits.
    func memoryBudget() -> PeerMemoryBudget {
        PeerMemoryBudget(
            peerQueueLimit: peerQueueLimit, processLimit: peerMemoryLimit, drainTimeout: .seconds(peerDrainTimeout))
    }
}

/// The process-wide rate limiters, shared by every session, and each torrent's own.
final class RateLimiters: Sendable {
    let globalDownload = RateLimiter()
    let globalUpload = RateLimiter()

    /// Limits for a torrent: the global limiters and its own (at `own`).
    func limits(own: TorrentRateLimits) -> TransferLimits {
        TransferLimits(
            globalDownload: globalDownload, globalUpload: globalUpload,
            download: RateLimiter(bytesPerSecond: Int(own.download ?? 0)),
            upload: RateLimiter(bytesPerSecond: Int(own.upload ?? 0)))
    }

    /// Follows the global settings.
    func apply(_ settings: TransferSettings) {
        globalDownload.setRate(Int(settings.downloadRate))
        globalUpload.setRate(Int(settings.uploadRate))
    }
}

extension TransferLimits {
    /// Follows a torrent's own limits.
    func apply(_ own: TorrentRateLimits) {
        download.setRate(Int(own.download ?? 0))
        upload.setRate(Int(own.upload ?? 0))
    }
}

extension TransferSettings {
    /// Which seed limit is reached, said for the history, or `nil`: `uploaded` over `base` (the bytes
    /// downloaded, or the verified bytes for a torrent seeded from data already in place) against
    /// ``seedRatio``, and `seededSeconds` against ``seedTime``.
    func seedLimitReached(uploaded: Int64, base: Int64, seededSeconds: Int64) -> String? {
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
