-- btq schema 1: the queue, its files and trackers, resume progress, peer history, events, settings.
--
-- Conventions (every later migration follows them too):
-- * Times: every column named *_at is an INTEGER of milliseconds since 1970-01-01T00:00:00Z (UTC).
--   Two columns carry their unit in their name or comment instead, because they copy an outside value
--   exactly: torrents.creation_date (seconds since 1970, verbatim from the .torrent, as BEP 3 defines
--   it) and files.recorded_mtime_ns (nanoseconds since 1970, as the file system reports it, so that the
--   check at start compares exactly).
-- * Info-hashes: lower-case hexadecimal TEXT, 40 digits (v1, SHA-1) or 64 digits (v2, SHA-256).
-- * Booleans: INTEGER 0 or 1. Sizes and counters: INTEGER bytes.
-- * Bitfields: BLOB packed most significant bit first (as on the wire), spare bits zero, with their bit
--   count in a column beside them.
-- * Deleting: a torrent is soft-deleted by setting removed_at (its history stays); purging deletes its
--   row, and every row that belongs to it goes with it (ON DELETE CASCADE).
-- * No CHECK on torrents.state: new states must not require rebuilding the table.

CREATE TABLE torrents (
    id              INTEGER PRIMARY KEY,
    info_hash_v1    TEXT UNIQUE
                    CHECK (info_hash_v1 IS NULL
                           OR (length(info_hash_v1) = 40 AND info_hash_v1 NOT GLOB '*[^0-9a-f]*')),
    info_hash_v2    TEXT UNIQUE
                    CHECK (info_hash_v2 IS NULL
                           OR (length(info_hash_v2) = 64 AND info_hash_v2 NOT GLOB '*[^0-9a-f]*')),
    name            TEXT NOT NULL,
    total_size      INTEGER CHECK (total_size >= 0),                  -- NULL until a magnet's metadata is known
    piece_length    INTEGER CHECK (piece_length > 0),
    piece_count     INTEGER CHECK (piece_count >= 0),
    file_count      INTEGER NOT NULL DEFAULT 0 CHECK (file_count >= 0),  -- files that are not pad files
    has_metainfo    INTEGER NOT NULL DEFAULT 0 CHECK (has_metainfo IN (0, 1)),  -- its row in metainfo exists
    magnet          TEXT,                                              -- the magnet URI, as given
    version         TEXT CHECK (version IN ('v1', 'v2', 'hybrid')),
    private         INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
    comment         TEXT,
    created_by      TEXT,
    creation_date   INTEGER,                                           -- seconds since 1970 (see above)
    save_dir        TEXT NOT NULL,
    state           TEXT NOT NULL,                                     -- TorrentState raw value
    queue_position  INTEGER CHECK (queue_position >= 0),               -- dense 0..n-1; NULL once removed
    added_at        INTEGER NOT NULL,
    started_at      INTEGER,                                           -- first time it became active
    completed_at    INTEGER,                                           -- first time all data was verified
    removed_at      INTEGER,                                           -- soft delete
    pieces_done     INTEGER NOT NULL DEFAULT 0 CHECK (pieces_done >= 0),   -- set bits of its bitfield
    bytes_done      INTEGER NOT NULL DEFAULT 0 CHECK (bytes_done >= 0),    -- bytes of verified pieces
    downloaded      INTEGER NOT NULL DEFAULT 0 CHECK (downloaded >= 0),
    uploaded        INTEGER NOT NULL DEFAULT 0 CHECK (uploaded >= 0),
    wasted          INTEGER NOT NULL DEFAULT 0 CHECK (wasted >= 0),
    last_error      TEXT,
    checkpoint_at   INTEGER,                                           -- last durable checkpoint of its progress
    CHECK (info_hash_v1 IS NOT NULL OR info_hash_v2 IS NOT NULL),
    CHECK (has_metainfo = 1 OR magnet IS NOT NULL),
    CHECK ((removed_at IS NULL) = (queue_position IS NOT NULL))
);

-- The raw .torrent of each torrent, as given (hashes are computed over its info dictionary's bytes).
-- Apart from torrents so that scanning the queue never pages through these blobs (tens of KB each).
CREATE TABLE metainfo (
    torrent_id      INTEGER PRIMARY KEY REFERENCES torrents (id) ON DELETE CASCADE,
    bytes           BLOB NOT NULL
);

-- The queue (btq list): an ordered scan of the live torrents.
CREATE INDEX torrents_by_queue_position ON torrents (queue_position) WHERE removed_at IS NULL;
-- The queue manager: the next torrent in a given state.
CREATE INDEX torrents_by_state ON torrents (state, queue_position) WHERE removed_at IS NULL;

CREATE TABLE files (
    torrent_id          INTEGER NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    file_index          INTEGER NOT NULL CHECK (file_index >= 0),      -- stream order, pad files included
    path                TEXT NOT NULL,                                 -- sanitized elements joined with '/'
    length              INTEGER NOT NULL CHECK (length >= 0),
    byte_offset         INTEGER NOT NULL CHECK (byte_offset >= 0),     -- in the torrent's byte stream
    priority            INTEGER NOT NULL DEFAULT 4 CHECK (priority BETWEEN 0 AND 7),  -- 0 = skip, 4 = normal
    pad                 INTEGER NOT NULL DEFAULT 0 CHECK (pad IN (0, 1)),
    attributes          TEXT NOT NULL DEFAULT '',                      -- BEP 47 letters among 'p', 'x', 'h', 'l'
    symlink_target      TEXT,                                          -- sanitized, joined with '/'
    pieces_root         BLOB CHECK (pieces_root IS NULL OR length(pieces_root) = 32),  -- BEP 52
    recorded_size       INTEGER CHECK (recorded_size >= 0),            -- on disk, as last recorded
    recorded_mtime_ns   INTEGER,                                       -- nanoseconds since 1970 (see above)
    recorded_at         INTEGER,
    PRIMARY KEY (torrent_id, file_index)
) WITHOUT ROWID;

CREATE TABLE trackers (
    id                  INTEGER PRIMARY KEY,
    torrent_id          INTEGER NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    url                 TEXT NOT NULL,
    tier                INTEGER NOT NULL CHECK (tier >= 0),            -- BEP 12 tier
    position            INTEGER NOT NULL CHECK (position >= 0),        -- order inside the tier
    last_announce_at    INTEGER,
    next_announce_at    INTEGER,
    seeders             INTEGER CHECK (seeders >= 0),
    leechers            INTEGER CHECK (leechers >= 0),
    completed           INTEGER CHECK (completed >= 0),
    last_error          TEXT,
    tracker_id          TEXT,                                          -- the 'tracker id' to send back
    UNIQUE (torrent_id, url)
);

-- Verified pieces: one row per torrent, rewritten in place at each flush that changed it.
CREATE TABLE piece_bitfields (
    torrent_id      INTEGER PRIMARY KEY REFERENCES torrents (id) ON DELETE CASCADE,
    piece_count     INTEGER NOT NULL CHECK (piece_count >= 0),
    verified        BLOB NOT NULL CHECK (length(verified) = (piece_count + 7) / 8),
    durable         BLOB CHECK (durable IS NULL OR length(durable) = (piece_count + 7) / 8),  -- as of the last durable checkpoint
    updated_at      INTEGER NOT NULL
);

-- Finished blocks of unfinished pieces; a row goes away when its piece is verified or loses all its blocks.
CREATE TABLE block_masks (
    torrent_id      INTEGER NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    piece_index     INTEGER NOT NULL CHECK (piece_index >= 0),
    block_count     INTEGER NOT NULL CHECK (block_count > 0),
    mask            BLOB NOT NULL CHECK (length(mask) = (block_count + 7) / 8),
    durable_mask    BLOB CHECK (durable_mask IS NULL OR length(durable_mask) = (block_count + 7) / 8),
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (torrent_id, piece_index)
) WITHOUT ROWID;

-- Peer history: one row per torrent and address, merged at each flush.
CREATE TABLE peers (
    id              INTEGER PRIMARY KEY,
    torrent_id      INTEGER NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    address         TEXT NOT NULL,                                     -- IPv4 dotted quad or IPv6 without brackets
    port            INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    peer_id         BLOB CHECK (peer_id IS NULL OR length(peer_id) = 20),
    client          TEXT,
    source          TEXT NOT NULL,                                     -- tracker, dht, pex, lsd, incoming, magnet, manual
    first_seen_at   INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    downloaded      INTEGER NOT NULL DEFAULT 0 CHECK (downloaded >= 0),
    uploaded        INTEGER NOT NULL DEFAULT 0 CHECK (uploaded >= 0),
    hash_failures   INTEGER NOT NULL DEFAULT 0 CHECK (hash_failures >= 0),
    banned          INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),
    UNIQUE (torrent_id, address, port)
);

-- History. Survives soft deletes; purged with its torrent. torrent_id NULL: an event of btq itself.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    torrent_id      INTEGER REFERENCES torrents (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind <> ''),
    detail          TEXT
);

CREATE INDEX events_by_torrent ON events (torrent_id, at);
CREATE INDEX events_by_time ON events (at);

-- Runs of the daemon: tells a clean shutdown from a crash, and a crash from a power loss (boot id).
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    pid             INTEGER NOT NULL,
    boot_id         TEXT,                                              -- /proc/sys/kernel/random/boot_id
    started_at      INTEGER NOT NULL,
    heartbeat_at    INTEGER NOT NULL,
    checkpoint_at   INTEGER,                                           -- last durable checkpoint of this run
    stopped_at      INTEGER,                                           -- NULL while running or after a crash
    clean           INTEGER NOT NULL DEFAULT 0 CHECK (clean IN (0, 1))
);

CREATE TABLE settings (
    key             TEXT PRIMARY KEY NOT NULL,
    value           TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
) WITHOUT ROWID;
