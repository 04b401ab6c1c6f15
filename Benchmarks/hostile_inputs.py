#!/usr/bin/env python3
"""hostile_inputs.py -- time and memory of `btq add` on inputs built to exhaust them.

Usage: Benchmarks/hostile_inputs.py [--btq PATH] [--keep DIR]

Writes each input (.torrent files of at most 16 MiB, magnet links of at most 128 KiB, the most a
command-line argument may hold) into a temporary folder, runs `btq add` (a release build; built
when --btq is not given) on it with a fresh database under /usr/bin/time, and prints for each: what
btq answered (added, or the start of its error), the wall time and the peak RSS, against the goals
of 1 s and 64 MiB. Exit status 1 when an input misses a goal or btq crashes. No network is used.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

GOAL_SECONDS = 1.0
GOAL_RSS_MIB = 64
MAX_INPUT = 16 << 20
PIECE = 16384


def benc(value):
    """Canonical bencode of ints, bytes, str, lists and dicts (keys sorted)."""
    out = []

    def walk(v):
        if isinstance(v, int):
            out.append(b"i%de" % v)
        elif isinstance(v, (bytes, str)):
            b = v.encode() if isinstance(v, str) else v
            out.append(b"%d:" % len(b))
            out.append(b)
        elif isinstance(v, list):
            out.append(b"l")
            for item in v:
                walk(item)
            out.append(b"e")
        elif isinstance(v, dict):
            out.append(b"d")
            for key in sorted(v, key=lambda k: k.encode() if isinstance(k, str) else k):
                walk(key)
                walk(v[key])
            out.append(b"e")
        else:
            raise TypeError(v)

    walk(value)
    return b"".join(out)


def v1(files, name="pack", extra=None):
    """A v1 multi-file torrent of (path elements, length) pairs."""
    total = sum(length for _, length in files)
    pieces = (total + PIECE - 1) // PIECE
    info = {
        "name": name,
        "piece length": PIECE,
        "files": [{"length": length, "path": path} for path, length in files],
        "pieces": b"\x07" * (20 * pieces),
    }
    top = dict(extra or {})
    top["info"] = info
    return benc(top)


def merkle_root(layer_nodes):
    """BEP 52 root over 32-byte nodes (16 KiB pieces: the padding is 32 zero bytes, then doubled)."""
    nodes = list(layer_nodes)
    pad = bytes(32)
    while len(nodes) > 1:
        if len(nodes) % 2:
            nodes.append(pad)
        nodes = [hashlib.sha256(nodes[i] + nodes[i + 1]).digest() for i in range(0, len(nodes), 2)]
        pad = hashlib.sha256(pad + pad).digest()
    return nodes[0]


def piece_layer_torrent(pieces, valid=True):
    nodes = [hashlib.sha256(i.to_bytes(8, "little")).digest() for i in range(pieces)]
    root = merkle_root(nodes)
    layer = b"".join(nodes)
    if not valid:
        layer = layer[:-32] + bytes(32)
    info = {
        "name": "layered",
        "piece length": PIECE,
        "meta version": 2,
        "file tree": {"data": {"": {"length": pieces * PIECE, "pieces root": root}}},
    }
    return benc({"info": info, "piece layers": {root: layer}})


def v2_tree(count, folders):
    """A v2 torrent of `count` one-byte files spread over `folders` folders (each file is then
    followed by a pad file to the next piece boundary); no piece layers (peers would send them)."""
    root = hashlib.sha256(b"leaf").digest()
    tree = {}
    for i in range(count):
        tree.setdefault(f"d{i % folders}", {})[f"f{i:06d}"] = {"": {"length": 1, "pieces root": root}}
    return benc({"info": {"name": "tree", "piece length": PIECE, "meta version": 2, "file tree": tree}})


def hybrid(count, folders):
    """A hybrid torrent of `count` one-byte files in `folders` folders: the v1 list (each file followed
    by its pad file) and the v2 tree describe the same files."""
    root = hashlib.sha256(b"leaf").digest()
    names = [(f"d{i % folders}", f"f{i:06d}") for i in range(count)]
    names.sort()
    tree, files = {}, []
    for folder, name in names:
        tree.setdefault(folder, {})[name] = {"": {"length": 1, "pieces root": root}}
        files.append({"length": 1, "path": [folder, name]})
        files.append({"attr": "p", "length": PIECE - 1, "path": [".pad", str(PIECE - 1)]})
    info = {"name": "hybrid", "piece length": PIECE, "meta version": 2, "file tree": tree, "files": files}
    info["pieces"] = b"\x07" * (20 * count)
    return benc({"info": info})


def inputs():
    """(name, expected outcome: "added" or a piece of btq's error message, bytes or magnet text)."""
    yield "deep path, 20,000 elements (the issue's 60 KB file)", "more than 256 elements", v1([(["a"] * 20_000, 1)])
    yield "deep path, 1,000,000 elements (2 MB)", "more than 256 elements", v1([(["a"] * 1_000_000, 1)])
    yield "deepest path allowed (255 + folder)", "added", v1([([f"d{i}" for i in range(255)], 1)])
    yield "path of 16 x 255 bytes", "longer than 4096 bytes", v1([(["n" * 255] * 16, 1)])
    yield "one element of 15 MiB (cut to 255 bytes)", "added", v1([(["h" * (15 << 20)], 1)])
    yield "name of 15 MiB (cut to 255 bytes)", "added", v1([(["f"], 1)], name="x" * (15 << 20))
    many = [([f"f{i:06d}"], 1) for i in range(250_001)]
    yield "250,001 files", "more than 250000 files", v1(many)
    yield "100,000 files in 1,000 folders", "added", v1([([f"d{i % 1000}", f"f{i:06d}"], 1) for i in range(100_000)])
    yield "250,000 files, 2 folders deep", "added", v1([(["a", f"d{i % 500}", f"f{i:06d}"], 1) for i in range(250_000)])
    yield "250,000 files below a name of 255 bytes", "added", v1(many[:250_000], name="n" * 255)
    yield "v2 file tree, 200,000 files in 500 folders", "added", v2_tree(200_000, 500)
    yield "hybrid, 90,000 files in 500 folders", "added", hybrid(90_000, 500)
    dup = [(["same.txt"], 1)] * 101 + [(["other"], 1)] * 200_000
    yield "200,101 files, 101 with the same path", "same path as another", v1(dup)
    dup_deep = [([f"d{i}" for i in range(200)] + ["same.txt"], 1) for _ in range(100)]
    yield "100 colliding files 200 folders deep", "added", v1(dup_deep)
    tiers = [[f"http://t{i}.example/announce"] for i in range(400_000)]
    body = v1([(["f"], 1)], extra={"announce-list": tiers})
    yield f"{len(tiers):,} trackers (1,000 kept)", "added", body
    seeds = [f"http://s{i}.example/" for i in range(500_000)]
    yield "500,000 web seeds (1,000 kept)", "added", v1([(["f"], 1)], extra={"url-list": seeds})
    yield "comment of 15 MiB (cut to 64 KiB)", "added", v1([(["f"], 1)], extra={"comment": "c" * (15 << 20)})
    yield "list nesting 16 MiB deep", "nesting deeper than the limit", b"l" * MAX_INPUT
    yield "dictionary nesting, 4 M levels", "nesting deeper than the limit", b"d1:a" * (MAX_INPUT // 4)
    yield "5 M integers (over 3 M values)", "more elements than the limit", b"l" + b"i0e" * 5_000_000 + b"e"
    yield "8 M empty lists (over 3 M values)", "more elements than the limit", b"l" + b"le" * (MAX_INPUT // 2 - 1) + b"e"
    yield "2.9 M integers in an unused key", "added", v1([(["f"], 1)], extra={"x": [0] * 2_900_000})
    pieces = (MAX_INPUT - 4096) // 20
    yield f"{pieces:,} v1 piece hashes (16 MiB)", "added", v1([(["big"], pieces * PIECE)])
    yield "2^22 pieces", "pieces; at most", benc({"info": {"name": "b", "piece length": PIECE, "length": PIECE << 22, "pieces": b""}})
    layer_pieces = (MAX_INPUT - 4096) // 32
    yield f"piece layer of {layer_pieces:,} hashes (16 MiB)", "added", piece_layer_torrent(layer_pieces)
    yield "piece layer of 16 MiB, wrong root", "piece layer does not hash", piece_layer_torrent(layer_pieces, valid=False)
    trackers = "&".join(f"tr=http%3A%2F%2Ft{i}.example%2Fa" for i in range(2000))
    magnet = f"magnet:?xt=urn:btih:{'ab' * 20}&dn=x&{trackers}"[: 64 << 10]
    magnet = magnet[: magnet.rfind("&")]
    yield "magnet of 64 KiB, ~1,900 trackers (1,000 kept)", "added", magnet
    yield "magnet of 120 KiB", "longer than 65536 bytes", f"magnet:?xt=urn:btih:{'ab' * 20}&dn=" + "x" * (120 << 10)
    yield "magnet, 30,000 empty parameters", "added", f"magnet:?xt=urn:btih:{'ab' * 20}" + "&" * 30_000


def run(btq, folder, index, data):
    db = os.path.join(folder, f"db{index}.sqlite")
    if isinstance(data, bytes):
        assert len(data) <= MAX_INPUT, len(data)
        argument = os.path.join(folder, f"input{index}.torrent")
        with open(argument, "wb") as handle:
            handle.write(data)
    else:
        argument = data
    timing = os.path.join(folder, f"time{index}")
    command = ["/usr/bin/time", "-f", "%e %M", "-o", timing, btq, "add", argument, "--db", db, "--dir", folder]
    result = subprocess.run(command, capture_output=True, text=True, errors="replace")
    seconds, kib = open(timing).read().split()[-2:]
    return result.returncode, (result.stdout + result.stderr).strip(), float(seconds), int(kib) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--btq")
    parser.add_argument("--keep", help="keep the inputs in this folder")
    args = parser.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    btq = args.btq
    if not btq:
        subprocess.run(["swift", "build", "-c", "release", "--product", "btq"], cwd=repo, check=True)
        btq = os.path.join(repo, ".build", "release", "btq")
    folder = args.keep or tempfile.mkdtemp(prefix="btq-hostile-")
    os.makedirs(folder, exist_ok=True)
    failures = 0
    # What any `btq add` takes (the Swift runtime, Foundation, SQLite and btq's own code, mostly shared
    # library pages): the part of each figure that no input causes.
    _, _, _, baseline = run(btq, folder, "baseline", v1([(["f"], 1)], name="baseline"))
    print(f"baseline: btq add of a one-file torrent takes {baseline:.1f} MiB; `+MiB` is each input's peak above it")
    print(f"{'input':<52} {'size':>9} {'seconds':>8} {'MiB':>6} {'+MiB':>6}  outcome")
    for index, (name, expected, data) in enumerate(inputs()):
        size = len(data)
        status, output, seconds, mib = run(btq, folder, index, data)
        outcome = "added" if status == 0 else output.replace("\n", " ")[-90:]
        ok = seconds < GOAL_SECONDS and mib < GOAL_RSS_MIB and status in (0, 1)
        ok = ok and ((expected == "added") == (status == 0)) and (expected == "added" or expected in output)
        failures += 0 if ok else 1
        mark = "" if ok else f"  <-- MISSED (goal 1 s / 64 MiB, expected: {expected})"
        print(f"{name:<52} {size:>9,} {seconds:>8.2f} {mib:>6.1f} {mib - baseline:>6.1f}  {outcome}{mark}", flush=True)
    print(f"goals: under {GOAL_SECONDS} s and {GOAL_RSS_MIB} MiB each; {failures} missed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
