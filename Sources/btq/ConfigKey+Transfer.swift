import Engine
import Foundation
import Store

extension ConfigKey {
    /// The settings of uploading, rate limits, seeding limits, the listening socket and the DHT node.
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
            name: TransferSettings.bindAddressKey,
            help: "address to listen on, 0.0.0.0 or :: for every IPv4 and IPv6 one (`--bind-address` overrides it)",
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
        ConfigKey(
            name: TransferSettings.maxOpenFilesKey,
            help: "files all torrents keep open at once while idle; the least recently used is closed past it",
            defaultValue: String(OpenFileBudget.defaultLimit), minimum: 1, kind: .integer),
        ConfigKey(
            name: TransferSettings.dialsPerSecondKey,
            help: "peer connection attempts per second over all torrents, past each torrent's first "
                + "\(SessionConfiguration.defaultDialBoost) to new peers (0: no limit)",
            defaultValue: String(DialPace.defaultPerSecond), minimum: 0, kind: .integer),
        ConfigKey(
            name: TransferSettings.peerRetryDelayKey,
            help: "after a peer's n-th failed connection in a row, dial it again after n + 1 times this, e.g. 60 or "
                + "2m (at most 1d)",
            defaultValue: String(SessionConfiguration.defaultFailedReconnectDelay.components.seconds), minimum: 1,
            kind: .duration),
        ConfigKey(
            name: TransferSettings.peerMaxFailuresKey,
            help: "failed connections in a row (at most \(TransferSettings.maxPeerMaxFailures)) after which a peer is "
                + "not dialled for an hour, but for one attempt each time a tracker lists it",
            defaultValue: String(SessionConfiguration.defaultMaxConnectAttempts), minimum: 1, kind: .integer),
        ConfigKey(
            name: TransferSettings.dhtKey, help: "run a DHT node (BEP 5) on the listen port over UDP (on/off)",
            defaultValue: "on", minimum: 0, kind: .boolean),
        ConfigKey(
            name: TransferSettings.dhtBootstrapNodesKey,
            help: "host:port of the DHT nodes to bootstrap from when no table was saved, comma-separated (empty: none)",
            defaultValue: TransferSettings.defaultDHTBootstrapNodes.joined(separator: ","), minimum: 0,
            kind: .hostPorts),
        ConfigKey(
            name: TransferSettings.dhtReadOnlyKey,
            help: "the DHT node asks but answers no queries (BEP 43 read-only, on/off)", defaultValue: "off",
            minimum: 0, kind: .boolean),
        ConfigKey(
            name: TransferSettings.tlsCAFileKey,
            help: "PEM file of CAs trusted for https:// trackers and web seeds besides the system's (empty: none)",
            defaultValue: "", minimum: 0, kind: .caFile),
        ConfigKey(
            name: TransferSettings.encryptionKey,
            help: "peer encryption (MSE/PE): prefer (encrypted first, plaintext as fallback), require (RC4 only), "
                + "disable (plaintext only)",
            defaultValue: EncryptionPolicy.prefer.rawValue, minimum: 0,
            kind: .choice(EncryptionPolicy.allCases.map(\.rawValue))),
        ConfigKey(
            name: TransferSettings.enableTCPKey,
            help: "peer connections over TCP, listening and dialling (on/off; enable_utp must be on when off)",
            defaultValue: "on", minimum: 0, kind: .boolean),
        ConfigKey(
            name: TransferSettings.enableUTPKey,
            help: "peer connections over uTP (BEP 29) on the listen port's UDP socket, tried before TCP (on/off)",
            defaultValue: "on", minimum: 0, kind: .boolean),
        ConfigKey(
            name: TransferSettings.webSeedConnectionsKey,
            help: "connections to each web seed (BEP 19) of a downloading torrent, at most 16",
            defaultValue: String(WebSeedConfiguration.defaultConnections), minimum: 1),
    ]
}
