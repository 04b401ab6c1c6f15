-- btq schema 7: the order a torrent's pieces are downloaded in, and a counter of its file priority
-- changes.
--
-- `download_order` is `rarest` (rarest first, the default), `sequential` (in piece order) or
-- `first-last` (the first and last piece of each wanted file first); `btq add --sequential`,
-- `btq get --first-last` and `btq order` set it. A value this build does not know reads as `rarest`.
--
-- `priorities_changed` goes up by one with every `btq files` change of priorities: a running daemon
-- reads the torrent rows it works at every pass anyway, and reloads a torrent's file priorities only
-- when the counter moved (the priorities themselves are in `file_state`).
ALTER TABLE torrents ADD COLUMN download_order TEXT NOT NULL DEFAULT 'rarest' CHECK (download_order <> '');
ALTER TABLE torrents ADD COLUMN priorities_changed INTEGER NOT NULL DEFAULT 0 CHECK (priorities_changed >= 0);
