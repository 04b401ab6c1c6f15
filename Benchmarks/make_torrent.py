#!/usr/bin/python3
"""make_torrent.py PATH PIECE_BYTES OUT [--tracker URL] [--source TAG]

Writes a v1 torrent of one file (or of a folder: every file in it) with pieces of PIECE_BYTES (any power of two from 16 KiB: mktorrent
starts at 32 KiB), made by libtorrent. --source adds an info-dict `source` key, which gives the same
data an info-hash of its own.
"""
import argparse, os

import libtorrent as lt

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("piece_bytes", type=int)
ap.add_argument("out")
ap.add_argument("--tracker")
ap.add_argument("--source")
a = ap.parse_args()
path = os.path.abspath(a.file)
fs = lt.file_storage()
lt.add_files(fs, path)
t = lt.create_torrent(fs, a.piece_bytes, flags=lt.create_torrent.v1_only)
if a.tracker:
    t.add_tracker(a.tracker)
lt.set_piece_hashes(t, os.path.dirname(path))
e = t.generate()
if a.source:
    e[b"info"][b"source"] = a.source.encode()
with open(a.out + ".tmp", "wb") as f:
    f.write(lt.bencode(e))
os.replace(a.out + ".tmp", a.out)
