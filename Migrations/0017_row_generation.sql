-- btq schema 17: which torrent rows changed, so that a daemon reads only those when the queue moved.
--
-- Schema 16 tells a daemon *that* something it follows changed (one counter); it then read every row it
-- works. With thousands of torrents worked, a start storm (each start writes a state, so each pass read
-- every row again) cost reads that grew with the square of the torrents. Now each row carries the value
-- of the counter when one of its followed columns last changed, and a row deleted outright (a purge)
-- leaves its id and that value behind: a daemon that read the queue at value G reads the rows changed
-- past G and the ids deleted past G, nothing else. The triggers are schema 16's, with the stamp added;
-- the deleted ids are kept for the last million changes (a daemon further behind reads every row).
ALTER TABLE torrents ADD COLUMN changed_generation INTEGER NOT NULL DEFAULT 0;
CREATE INDEX torrents_changed_generation ON torrents (changed_generation);

CREATE TABLE deleted_torrents (
    torrent_id      INTEGER NOT NULL,
    generation      INTEGER NOT NULL
);
CREATE INDEX deleted_torrents_generation ON deleted_torrents (generation);

DROP TRIGGER queue_generation_torrent_added;
CREATE TRIGGER queue_generation_torrent_added AFTER INSERT ON torrents
BEGIN
    UPDATE queue_generation SET value = value + 1 WHERE id = 0;
    UPDATE torrents SET changed_generation = (SELECT value FROM queue_generation WHERE id = 0)
    WHERE id = NEW.id;
END;

DROP TRIGGER queue_generation_torrent_deleted;
CREATE TRIGGER queue_generation_torrent_deleted AFTER DELETE ON torrents
BEGIN
    UPDATE queue_generation SET value = value + 1 WHERE id = 0;
    INSERT INTO deleted_torrents (torrent_id, generation)
    VALUES (OLD.id, (SELECT value FROM queue_generation WHERE id = 0));
    DELETE FROM deleted_torrents WHERE generation < (SELECT value FROM queue_generation WHERE id = 0) - 1000000;
END;

DROP TRIGGER queue_generation_torrent_changed;
CREATE TRIGGER queue_generation_torrent_changed
AFTER UPDATE OF state, added_at, removed_at, save_dir, has_metainfo, completed_at, download_rate_limit,
    upload_rate_limit, download_order, priorities_changed ON torrents
BEGIN
    UPDATE queue_generation SET value = value + 1 WHERE id = 0;
    UPDATE torrents SET changed_generation = (SELECT value FROM queue_generation WHERE id = 0)
    WHERE id = NEW.id;
END;
