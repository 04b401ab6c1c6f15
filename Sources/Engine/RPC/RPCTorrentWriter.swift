import Foundation

/// Writes `torrent-get`'s answer: each torrent's asked fields, as objects (the default) or as a table
/// (`format: table`: the field names, then one array of values per torrent).
public struct RPCTorrentWriter {
    /// The fields, in the order asked.
    public let fields: [RPCTorrentField]
    /// Each field's `"name":` (after a comma but for the first), written once here rather than escaped
    /// again for every torrent.
    private let keys: [[UInt8]]

    /// Seconds since 1970 when the answer is written (what is due and what waits).
    public let now: Int64

    public init(fields: [RPCTorrentField], now: Int64 = Int64(Date().timeIntervalSince1970)) {
        self.fields = fields
        self.now = now
        keys = fields.enumerated().map { index, field in
            var key = JSONWriter(capacity: 32)
            if index > 0 { key.raw(",") }
            key.key(field.rawValue)
            return key.bytes
        }
    }

    /// Writes `"torrents":[...]` for `torrents`; `details` holds the details of each torrent that has
    /// them (asked only when a field needs them).
    public func write(
        _ torrents: [RPCTorrent], details: [Int64: RPCTorrentDetails], table: Bool, into json: inout JSONWriter
    ) {
        var none: RPCAnswerCache.Entries?
        write(torrents, details: details, table: table, into: &json, kept: &none)
    }

    /// ``write(_:details:table:into:)``, using and refreshing the answers `kept` of the torrents no
    /// session works (see ``RPCAnswerCache``).
    func write(
        _ torrents: [RPCTorrent], details: [Int64: RPCTorrentDetails], table: Bool, into json: inout JSONWriter,
        kept: inout RPCAnswerCache.Entries?
    ) {
        json.key("torrents")
        json.raw("[")
        if table {
            json.raw("[")
            for (index, field) in fields.enumerated() {
                if index > 0 { json.raw(",") }
                json.string(field.rawValue)
            }
            json.raw("]")
        }
        let empty = RPCTorrentDetails()
        for row in torrents.indices {
            if row > 0 || table { json.raw(",") }
            let id = torrents[row].id
            let detail = details[id] ?? empty
            let cacheable = kept != nil && !torrents[row].isActive
            if cacheable, let fragment = kept?.fragments[id], fragment.torrent == torrents[row],
                fragment.details == detail
            {
                json.append(fragment.json)
                continue
            }
            let start = json.count
            write(torrents[row], detail, table: table, into: &json)
            if cacheable {
                kept?.keep(
                    RPCAnswerCache.Fragment(torrent: torrents[row], details: detail, json: json.bytes(from: start)),
                    of: id)
            }
        }
        json.raw("]")
    }

    /// One torrent's object (or row of the table).
    private func write(_ torrent: RPCTorrent, _ detail: RPCTorrentDetails, table: Bool, into json: inout JSONWriter) {
        json.raw(table ? "[" : "{")
        for index in fields.indices {
            if table {
                if index > 0 { json.raw(",") }
            } else {
                json.append(keys[index])
            }
            write(fields[index], of: torrent, detail, into: &json)
        }
        json.raw(table ? "]" : "}")
    }

    // swift-format-ignore: CyclomaticComplexity
    private func write(_ field: RPCTorrentField, of t: RPCTorrent, _ d: RPCTorrentDetails, into j: inout JSONWriter) {
        let isDone = t.sizeWhenDone > 0 ? t.haveValid >= t.sizeWhenDone : !t.isMagnet
        let left = max(0, t.sizeWhenDone - t.haveValid)
        switch field {
        case .activityDate: j.int(t.activityDate)
        case .addedDate: j.int(t.addedDate)
        case .bandwidthPriority: j.int(0)
        case .comment: j.string(t.comment)
        case .corruptEver: j.int(t.corruptEver)
        case .creator: j.string(t.creator)
        case .dateCreated: j.int(t.dateCreated)
        case .desiredAvailable: j.int(left)
        case .doneDate: j.int(t.doneDate)
        case .downloadDir: j.string(t.downloadDir)
        case .downloadedEver: j.int(t.downloadedEver)
        case .downloadLimit: j.int(t.downloadLimit / 1024)
        case .downloadLimited: j.bool(t.downloadLimit > 0)
        case .editDate: j.int(t.addedDate)
        case .error: j.int(t.errorString == nil ? 0 : 3)
        case .errorString: j.string(t.errorString ?? "")
        case .eta: j.int(eta(t, left: left))
        case .etaIdle: j.int(-1)
        case .fileCount: j.int(t.fileCount)
        case .files:
            j.objects(d.files) { j, file in
                j.member("bytesCompleted", file.bytesCompleted, first: true)
                j.member("length", file.length)
                j.member("name", file.name)
            }
        case .fileStats:
            j.objects(d.files) { j, file in
                j.member("bytesCompleted", file.bytesCompleted, first: true)
                j.member("priority", RPCPriority.transmission(file.priority))
                j.member("wanted", file.priority > 0)
            }
        case .group: j.string("")
        case .hashString: j.string(t.hashString)
        case .haveUnchecked: j.int(0)
        case .haveValid: j.int(t.haveValid)
        case .honorsSessionLimits: j.bool(true)
        case .id: j.int(t.id)
        case .isFinished: j.bool(t.state == .completed)
        case .isPrivate: j.bool(t.isPrivate)
        case .isStalled: j.bool(false)
        case .labels: j.raw("[]")
        case .leftUntilDone: j.int(left)
        case .magnetLink: j.string(t.magnetLink)
        case .manualAnnounceTime: j.int(-1)
        case .maxConnectedPeers, .peerLimit: j.int(50)
        case .metadataPercentComplete: j.int(t.isMagnet ? 0 : 1)
        case .name: j.string(t.name)
        case .peers:
            j.objects(d.peers) { j, peer in
                j.member("address", peer.address, first: true)
                j.member("clientName", peer.client)
                j.member("port", peer.port)
                j.member("rateToClient", peer.rateToClient)
                j.member("rateToPeer", peer.rateToPeer)
                j.member("flagStr", peer.flags)
                j.raw(",\"progress\":")
                j.double(peer.progress)
                j.member("isEncrypted", peer.isEncrypted)
                j.member("isIncoming", peer.isIncoming)
                j.member("isUTP", peer.isUTP)
                j.member("isDownloadingFrom", peer.isDownloadingFrom)
                j.member("isUploadingTo", peer.isUploadingTo)
            }
        case .peersConnected: j.int(t.peersConnected)
        case .peersFrom:
            j.raw("{\"fromCache\":0,\"fromDht\":")
            j.int(t.peersFrom.dht)
            j.raw(",\"fromIncoming\":")
            j.int(t.peersFrom.incoming)
            j.raw(",\"fromLpd\":")
            j.int(t.peersFrom.lpd)
            j.raw(",\"fromLtep\":0,\"fromPex\":")
            j.int(t.peersFrom.pex)
            j.raw(",\"fromTracker\":")
            j.int(t.peersFrom.tracker)
            j.raw("}")
        case .peersGettingFromUs: j.int(t.peersGettingFromUs)
        case .peersSendingToUs: j.int(t.peersSendingToUs)
        case .percentComplete:
            j.double(t.totalSize > 0 ? min(1, Double(t.haveValid) / Double(t.totalSize)) : (t.isMagnet ? 0 : 1))
        case .percentDone:
            j.double(t.sizeWhenDone > 0 ? min(1, Double(t.haveValid) / Double(t.sizeWhenDone)) : (t.isMagnet ? 0 : 1))
        case .pieces: j.string("")
        case .pieceCount: j.int(t.pieceCount)
        case .pieceSize: j.int(t.pieceSize)
        case .priorities:
            j.raw("[")
            for (index, file) in d.files.enumerated() {
                if index > 0 { j.raw(",") }
                j.int(RPCPriority.transmission(file.priority))
            }
            j.raw("]")
        case .primaryMimeType: j.string("application/octet-stream")
        case .queuePosition: j.int(t.queuePosition)
        case .rateDownload: j.int(t.rateDownload)
        case .rateUpload: j.int(t.rateUpload)
        case .recheckProgress: j.int(0)
        case .secondsDownloading, .secondsSeeding: j.int(0)
        case .seedIdleLimit: j.int(0)
        case .seedIdleMode: j.int(0)
        case .seedRatioLimit: j.double(t.seedRatioLimit)
        case .seedRatioMode: j.int(0)
        case .sequentialDownload: j.bool(false)
        case .sizeWhenDone: j.int(t.sizeWhenDone)
        case .startDate: j.int(t.startDate)
        case .status: j.int(RPCTorrentStatus(t.state, isDone: isDone).rawValue)
        case .trackers:
            j.objects(d.trackers) { j, tracker in
                j.member("announce", tracker.announce, first: true)
                j.member("id", tracker.id)
                j.member("scrape", "")
                j.member("tier", tracker.tier)
            }
        case .trackerList:
            var text = ""
            var tier = d.trackers.first?.tier
            for tracker in d.trackers {
                if tracker.tier != tier { text += "\n" }
                tier = tracker.tier
                text += tracker.announce + "\n"
            }
            j.string(text)
        case .trackerStats:
            writeTrackerStats(d.trackers, active: t.isActive, into: &j)
        case .totalSize: j.int(t.totalSize)
        case .torrentFile: j.string("")
        case .uploadedEver: j.int(t.uploadedEver)
        case .uploadLimit: j.int(t.uploadLimit / 1024)
        case .uploadLimited: j.bool(t.uploadLimit > 0)
        case .uploadRatio:
            j.double(t.downloadedEver > 0 ? Double(t.uploadedEver) / Double(t.downloadedEver) : -1)
        case .wanted:
            j.raw("[")
            for (index, file) in d.files.enumerated() {
                if index > 0 { j.raw(",") }
                j.int(file.priority > 0 ? 1 : 0)
            }
            j.raw("]")
        case .webseeds: j.raw("[]")
        case .webseedsSendingToUs: j.int(0)
        }
    }

    private func eta(_ t: RPCTorrent, left: Int64) -> Int64 {
        if left == 0 { return -1 }  // TR_ETA_NOT_AVAIL
        guard t.rateDownload > 0 else { return -2 }  // TR_ETA_UNKNOWN
        return left / t.rateDownload
    }

    private func writeTrackerStats(_ trackers: [RPCTorrentDetails.Tracker], active: Bool, into j: inout JSONWriter) {
        j.raw("[")
        for (index, tracker) in trackers.enumerated() {
            if index > 0 { j.raw(",") }
            j.raw("{")
            j.key("announce")
            j.string(tracker.announce)
            // As Transmission: a stopped torrent's trackers are inactive (0) with no next announce; a
            // worked torrent's wait for their next announce (1) or are due (2).
            let next = active && tracker.nextAnnounce > 0 ? tracker.nextAnnounce : 0
            let announceState = next == 0 ? 0 : (next > now ? 1 : 2)
            j.raw(",\"announceState\":")
            j.int(announceState)
            j.raw(",\"downloadCount\":")
            j.int(tracker.downloads ?? -1)
            j.raw(",\"hasAnnounced\":")
            j.bool(tracker.lastAnnounce > 0)
            j.raw(",\"hasScraped\":")
            j.bool(tracker.lastScrape > 0)
            j.raw(",\"host\":")
            j.string(tracker.announce)
            j.raw(",\"id\":")
            j.int(tracker.id)
            j.raw(",\"isBackup\":false,\"lastAnnouncePeerCount\":0,\"lastAnnounceResult\":")
            j.string(tracker.lastError ?? (tracker.lastAnnounce > 0 ? "Success" : ""))
            j.raw(",\"lastAnnounceStartTime\":")
            j.int(tracker.lastAnnounce)
            j.raw(",\"lastAnnounceSucceeded\":")
            j.bool(tracker.lastAnnounce > 0 && tracker.lastError == nil)
            j.raw(",\"lastAnnounceTime\":")
            j.int(tracker.lastAnnounce)
            j.raw(",\"lastAnnounceTimedOut\":false,\"lastScrapeResult\":")
            j.string(tracker.scrapeError ?? "")
            j.raw(",\"lastScrapeStartTime\":")
            j.int(tracker.lastScrape)
            j.raw(",\"lastScrapeSucceeded\":")
            j.bool(tracker.lastScrape > 0 && tracker.scrapeError == nil)
            j.raw(",\"lastScrapeTime\":")
            j.int(tracker.lastScrape)
            j.raw(",\"lastScrapeTimedOut\":false,\"leecherCount\":")
            j.int(tracker.leechers ?? -1)
            j.raw(",\"nextAnnounceTime\":")
            j.int(next == 0 || next <= now ? 0 : next)
            j.raw(",\"nextScrapeTime\":0,\"scrape\":\"\",\"scrapeState\":0,\"seederCount\":")
            j.int(tracker.seeders ?? -1)
            j.raw(",\"tier\":")
            j.int(tracker.tier)
            j.raw("}")
        }
        j.raw("]")
    }
}
