-- btq schema 16: a counter of the changes a running daemon follows, so that its queue passes cost
-- nothing when nothing changed.
--
-- The daemon looks at the queue twice a second (what the CLI or the RPC wrote: new torrents, pause,
-- remove, verify, settings, limits, file priorities, the download order). Reading every row it works at
-- each pass cost it a read per torrent per pass: with thousands of seeding torrents, most of an idle
-- core. Now it reads this one row first and reads the rest only when the value moved. Triggers move it,
-- whoever writes (any process, any connection): the torrent rows' followed columns, their insertion and
-- deletion, and every settings change. The progress columns the journal writes (pieces, bytes, counters,
-- checkpoint time, seeding time) and queue positions (a move never preempts work) do not move it.
CREATE TABLE queue_generation (
    id              INTEGER PRIMARY KEY CHECK (id = 0),
    value           INTEGER NOT NULL
);
INSERT INTO queue_generation (id, value) VALUES (0, 0);

CREATE TRIGGER queue_generation_torrent_added AFTER INSERT ON torrents
BEGIN
    UPDATE queue_generation SET value = value + 1 WHERE id = 0;
END;

CREATE TRIGGER queue_generation_torrent_deleted AFTER DELETE ON torrents
BEGIN
    UPDATE queue_generation SET value = value + 1 WHERE id = 0;
END;

CREATE TRIGGER queue_generation_torrent_changed
AFTER UPDATE OF state, added_at, removed_at, save_dir, has_metainfo, completed_at, download_rate_limit,
    upload_rate_limit, download_order, priorities_changed ON torrents
BEGIN
    UPDATE queue_generation SET value = value + 1 WHERE id = 0;
END;

CREATE TRIGGER queue_generation_setting_added AFTER INSERT ON settings
BEGIN
    UPDATE queue_generation SET value = value + 1 WHERE id = 0;
END;

CREATE TRIGGER queue_generation_setting_changed AFTER UPDATE ON settings
BEGIN
    UPDATE queue_generation SET value = value + 1 WHERE id = 0;
END;

CREATE TRIGGER queue_generation_setting_deleted AFTER DELETE ON settings
BEGIN
    UPDATE queue_generation SET value = value + 1 WHERE id = 0;
END;
