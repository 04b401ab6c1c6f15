-- btq schema 3: `btq list` reads its queue from one covering index.
--
-- The torrent rows are wide (the info dictionary, trackers and web seeds live in them): listing the
-- queue by reading them touched every row's page, about 400 MiB for 100,000 torrents. This index holds
-- exactly the columns of a queue line, in queue order, for torrents not removed, so the listing reads
-- only it (about a fortieth of that). It costs one more index entry to update when a torrent's
-- progress is journaled.
CREATE INDEX torrents_listed ON torrents (
    queue_position, id, name, total_size, bytes_done, state, uploaded, downloaded, removed_at
) WHERE removed_at IS NULL;
