import Foundation

/// `session-get`, `session-stats` and `session-set` in Transmission's names.
public enum RPCSessionWriter {
    /// The RPC version announced: that of Transmission 3.00, whose clients btq is tested with.
    public static let rpcVersion = 16

    /// Writes `session-get`'s arguments.
    public static func write(_ session: RPCSession, settings: RPCSettings, into j: inout JSONWriter) {
        j.raw("\"alt-speed-down\":0,\"alt-speed-enabled\":false,\"alt-speed-time-begin\":540,")
        j.raw("\"alt-speed-time-day\":127,\"alt-speed-time-enabled\":false,\"alt-speed-time-end\":1020,")
        j.raw("\"alt-speed-up\":0,\"blocklist-enabled\":false,\"blocklist-size\":0,\"blocklist-url\":\"\",")
        j.raw("\"cache-size-mb\":0,\"config-dir\":")
        j.string(session.configDir)
        j.raw(",\"dht-enabled\":")
        j.bool(session.dhtEnabled)
        j.raw(",\"download-dir\":")
        j.string(session.downloadDir)
        j.raw(",\"download-dir-free-space\":-1,\"download-queue-enabled\":")
        j.bool(queued(session.downloadQueueSize))
        j.raw(",\"download-queue-size\":")
        j.int(queueSize(session.downloadQueueSize, default: 3))
        j.raw(",\"encryption\":")
        j.string(session.encryption)
        j.raw(",\"idle-seeding-limit\":0,\"idle-seeding-limit-enabled\":false,")
        j.raw("\"incomplete-dir\":\"\",\"incomplete-dir-enabled\":false,\"lpd-enabled\":false,")
        j.raw("\"peer-limit-global\":200,\"peer-limit-per-torrent\":50,\"peer-port\":")
        j.int(session.peerPort)
        j.raw(",\"peer-port-random-on-start\":false,\"pex-enabled\":true,\"port-forwarding-enabled\":false,")
        j.raw("\"queue-stalled-enabled\":true,\"queue-stalled-minutes\":5,\"rename-partial-files\":false,")
        j.raw("\"rpc-version\":")
        j.int(rpcVersion)
        j.raw(",\"rpc-version-minimum\":1,\"rpc-version-semver\":\"5.2.0\",")
        j.raw("\"script-torrent-done-enabled\":false,\"script-torrent-done-filename\":\"\",")
        j.raw("\"seed-queue-enabled\":")
        j.bool(queued(session.seedQueueSize))
        j.raw(",\"seed-queue-size\":")
        j.int(queueSize(session.seedQueueSize, default: 3))
        j.raw(",\"seedRatioLimit\":")
        j.double(session.seedRatioLimit)
        j.raw(",\"seedRatioLimited\":")
        j.bool(session.seedRatioLimit > 0)
        j.raw(",\"session-id\":\"\",\"speed-limit-down\":")
        j.int(session.downloadLimit / 1024)
        j.raw(",\"speed-limit-down-enabled\":")
        j.bool(session.downloadLimit > 0)
        j.raw(",\"speed-limit-up\":")
        j.int(session.uploadLimit / 1024)
        j.raw(",\"speed-limit-up-enabled\":")
        j.bool(session.uploadLimit > 0)
        j.raw(",\"start-added-torrents\":true,\"trash-original-torrent-files\":false,")
        j.raw("\"units\":{\"memory-bytes\":1024,\"memory-units\":[\"KiB\",\"MiB\",\"GiB\",\"TiB\"],")
        j.raw("\"size-bytes\":1000,\"size-units\":[\"kB\",\"MB\",\"GB\",\"TB\"],\"speed-bytes\":1000,")
        j.raw("\"speed-units\":[\"kB/s\",\"MB/s\",\"GB/s\",\"TB/s\"]},\"utp-enabled\":false,")
        j.raw("\"version\":\"3.00 (btq)\"")
    }

    /// Whether a slot setting limits its queue: Transmission's `*-queue-enabled`; btq's `unlimited` (-1) is
    /// a queue turned off.
    package static func queued(_ slots: Int) -> Bool { slots >= 0 && slots < TransferSettings.unlimitedSlots }

    /// The size reported for a queue: the setting, or when it is unlimited the size turning the queue on
    /// again gives (the setting's default).
    static func queueSize(_ slots: Int, default size: Int) -> Int { queued(slots) ? slots : size }

    /// Writes `session-stats`'s arguments. btq keeps no count of runs or of files added, so the
    /// cumulative figures count bytes only (`sessionCount` 0, `filesAdded` the torrents in the queue).
    public static func write(_ stats: RPCStatistics, startedAt: Date, into j: inout JSONWriter) {
        let seconds = max(0, Int64(Date().timeIntervalSince(startedAt)))
        func counters(_ downloaded: Int64, _ uploaded: Int64, filesAdded: Int, sessions: Int) {
            j.raw("{")
            j.member("downloadedBytes", downloaded, first: true)
            j.member("filesAdded", filesAdded)
            j.member("secondsActive", seconds)
            j.member("sessionCount", sessions)
            j.member("uploadedBytes", uploaded)
            j.raw("}")
        }
        j.member("activeTorrentCount", stats.activeTorrents, first: true)
        j.raw(",")
        j.key("cumulative-stats")
        counters(stats.totalDownloaded, stats.totalUploaded, filesAdded: stats.torrentCount, sessions: 0)
        j.raw(",")
        j.key("current-stats")
        counters(stats.sessionDownloaded, stats.sessionUploaded, filesAdded: 0, sessions: 1)
        j.member("downloadSpeed", stats.downloadRate)
        j.member("pausedTorrentCount", stats.pausedTorrents)
        j.member("torrentCount", stats.torrentCount)
        j.member("uploadSpeed", stats.uploadRate)
    }

    /// What `session-set`'s arguments change, in btq's setting names and stored forms; the names btq
    /// has no setting for are listed, and nothing is set when a value is of the wrong type.
    public static func changes(_ members: [String: JSONValue]) throws(RPCError) -> RPCSessionChanges {
        var changes = RPCSessionChanges()
        func integer(_ key: String) throws(RPCError) -> Int64 {
            guard let value = members[key]?.intValue, value >= 0 else {
                throw RPCError.invalidArgument("\(key) must be a number of at least 0")
            }
            return value
        }
        // A queue turned off is an unlimited slot setting; turned on, it takes the size given, or its
        // default when it was unlimited.
        func queue(_ name: String, setting: String, minimum: Int64) throws(RPCError) {
            guard let enabled = members["\(name)-queue-enabled"].map({ $0.boolValue }) ?? true else {
                throw RPCError.invalidArgument("\(name)-queue-enabled must be true or false")
            }
            if !enabled {
                changes.settings[setting] = "-1"
            } else if members["\(name)-queue-size"] != nil {
                changes.settings[setting] = String(max(minimum, try integer("\(name)-queue-size")))
            } else if !changes.limitedAgain.contains(setting) {
                changes.limitedAgain.append(setting)
            }
        }
        for key in members.keys.sorted() {
            switch key {
            case "speed-limit-down", "speed-limit-down-enabled":
                let enabled = members["speed-limit-down-enabled"]?.boolValue ?? true
                let limit = try members["speed-limit-down"] == nil ? 0 : integer("speed-limit-down")
                if members["speed-limit-down"] != nil || !enabled {
                    changes.settings[TransferSettings.downloadRateKey] = String(enabled ? limit * 1024 : 0)
                }
            case "speed-limit-up", "speed-limit-up-enabled":
                let enabled = members["speed-limit-up-enabled"]?.boolValue ?? true
                let limit = try members["speed-limit-up"] == nil ? 0 : integer("speed-limit-up")
                if members["speed-limit-up"] != nil || !enabled {
                    changes.settings[TransferSettings.uploadRateKey] = String(enabled ? limit * 1024 : 0)
                }
            case "seedRatioLimit", "seedRatioLimited":
                let enabled = members["seedRatioLimited"]?.boolValue ?? true
                if let ratio = members["seedRatioLimit"]?.doubleValue, ratio >= 0, enabled {
                    changes.settings[TransferSettings.seedRatioKey] =
                        ratio == ratio.rounded() ? String(Int64(ratio)) : String(ratio)
                } else if !enabled {
                    changes.settings[TransferSettings.seedRatioKey] = "0"
                } else if members["seedRatioLimit"] != nil {
                    throw RPCError.invalidArgument("seedRatioLimit must be a number of at least 0")
                }
            case "download-queue-size", "download-queue-enabled":
                try queue("download", setting: "max_active_downloads", minimum: 1)
            case "seed-queue-size", "seed-queue-enabled":
                try queue("seed", setting: "max_active_seeds", minimum: 0)
            case "encryption":
                switch members[key]?.stringValue {
                case "required": changes.settings[TransferSettings.encryptionKey] = EncryptionPolicy.require.rawValue
                case "preferred": changes.settings[TransferSettings.encryptionKey] = EncryptionPolicy.prefer.rawValue
                case "tolerated":
                    changes.unsupported.append("encryption 'tolerated' (it is prefer, require or disable)")
                default: throw RPCError.invalidArgument("encryption must be required, preferred or tolerated")
                }
            case "peer-port":
                let port = try integer(key)
                guard (1...65535).contains(port) else { throw RPCError.invalidArgument("peer-port must be 1...65535") }
                changes.settings[TransferSettings.listenPortKey] = String(port)
            case "dht-enabled":
                guard let on = members[key]?.boolValue else {
                    throw RPCError.invalidArgument("dht-enabled must be true or false")
                }
                changes.settings["dht"] = on ? "on" : "off"
            default:
                changes.unsupported.append(key)
            }
        }
        return changes
    }
}
