-- btq schema 4: a torrent's file list is read from its metainfo; only what btq learns or the user
-- chooses per file is stored (`file_state`).
--
-- Schema 1 copied every file of a torrent into a `files` row (path, length, offset, attributes) when it
-- was added. All of it is in the metainfo the database already holds, and for a torrent of 250,000
-- files writing the rows took longer than everything else `btq add` does: over a second, and twice the
-- size of the .torrent in the database. Now a torrent's files come from parsing its stored metainfo
-- (which `btq run` does anyway), and a file has a `file_state` row only once it has a priority other
-- than normal or a recorded size and modification time.
ALTER TABLE torrents ADD COLUMN file_entries INTEGER NOT NULL DEFAULT 0 CHECK (file_entries >= 0);  -- pad files included

CREATE TABLE file_state (
    torrent_id          INTEGER NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    file_index          INTEGER NOT NULL CHECK (file_index >= 0),      -- stream order, pad files included
    priority            INTEGER NOT NULL DEFAULT 4 CHECK (priority BETWEEN 0 AND 7),  -- 0 = skip, 4 = normal
    recorded_size       INTEGER CHECK (recorded_size >= 0),            -- on disk, as last recorded
    recorded_mtime_ns   INTEGER,                                       -- nanoseconds since 1970
    recorded_at         INTEGER,
    PRIMARY KEY (torrent_id, file_index)
) WITHOUT ROWID;

UPDATE torrents SET file_entries = (SELECT count(*) FROM files WHERE files.torrent_id = torrents.id);

INSERT INTO file_state (torrent_id, file_index, priority, recorded_size, recorded_mtime_ns, recorded_at)
SELECT torrent_id, file_index, priority, recorded_size, recorded_mtime_ns, recorded_at FROM files
WHERE priority != 4 OR recorded_size IS NOT NULL OR recorded_mtime_ns IS NOT NULL;

DROP TABLE files;
