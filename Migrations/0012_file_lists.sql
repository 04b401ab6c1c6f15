-- btq schema 12: each torrent's file list, compact, beside its metainfo.
--
-- Since schema 4 a torrent's files are read by parsing its stored metainfo. That is right for one
-- torrent (`btq files`), but a Transmission client asks for the files of every torrent at each refresh:
-- for 10,000 torrents that parsed every .torrent (hundreds of MB of piece hashes) per request. Now the
-- file list (paths, lengths, offsets, BEP 47 attributes, symlink targets) is also kept in one BLOB per
-- torrent, written with the metainfo, a few bytes per file; the piece hashes stay in `metainfo` only.
-- The rows of torrents that already have metainfo are written by btq right after this script (it
-- parses each stored metainfo once); a torrent without a row is read from its metainfo, as before.
CREATE TABLE file_lists (
    torrent_id      INTEGER PRIMARY KEY REFERENCES torrents (id) ON DELETE CASCADE,
    entries         BLOB NOT NULL                                   -- FileListBlob encoding (version 1)
);
