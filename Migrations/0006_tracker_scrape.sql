-- btq schema 6: what each tracker's last scrape (BEP 48 over HTTP, BEP 15 over UDP) said. Its counts go
-- into `seeders`, `leechers` and `completed` beside those of the announces (whichever came last);
-- these columns say when it last answered a scrape and why its last scrape failed, if it did.

ALTER TABLE trackers ADD COLUMN last_scrape_at INTEGER;
ALTER TABLE trackers ADD COLUMN scrape_error TEXT;
