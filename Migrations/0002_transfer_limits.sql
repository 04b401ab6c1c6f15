-- btq schema 2: per-torrent rate limits and the time a torrent has spent seeding.
--
-- Rate limits are INTEGER bytes per second; NULL means the torrent has no limit of its own (only the
-- global settings download_rate_limit / upload_rate_limit apply).

ALTER TABLE torrents ADD COLUMN download_rate_limit INTEGER
    CHECK (download_rate_limit IS NULL OR download_rate_limit > 0);
ALTER TABLE torrents ADD COLUMN upload_rate_limit INTEGER
    CHECK (upload_rate_limit IS NULL OR upload_rate_limit > 0);
-- Seconds spent seeding over the torrent's life (for seed_time_limit), summed over every run.
ALTER TABLE torrents ADD COLUMN seeding_seconds INTEGER NOT NULL DEFAULT 0 CHECK (seeding_seconds >= 0);
