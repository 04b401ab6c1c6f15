#!/usr/bin/env python3
"""Queue benchmark for btq (issue: foundation).

Adds N generated torrents to a fresh database, then reports:
  - `btq list` wall time on that database (median of several runs; goal < 150 ms at 10,000),
  - `btq list --json` wall time,
  - `btq add` of one 5,000-file torrent (median; goal < 100 ms),
  - the database size,
  - with --daemon: how long `btq run` takes from launch to its first started download (the last
    torrents are added queued, the rest paused), and its CPU use while idle-polling that queue.
Everything is local files; the daemon's torrents announce to 127.0.0.1 only (nothing listens there),
inside a loopback-only network namespace when `unshare --net` is allowed. Usage:
  Benchmarks/queue_bench.py [--btq .build/release/btq] [--count 10000] [--files 5000] [--runs 7]
                            [--max-mib 2048] [--daemon]
  Benchmarks/queue_bench.py --count 100000 --max-mib 64 --daemon     # the 100,000-torrent figures
  --keep DIR keeps the generated queue (DIR/btq.sqlite) for profiling.
"""
import argparse
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def bencode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(type(value))


def make_torrent(rng, index, file_count, max_mib=2048):
    piece_length = 1 << 18
    if file_count == 1:
        length = rng.randrange(1 << 20, max_mib << 20)
        info = {"name": "generated-%06d.bin" % index, "length": length, "piece length": piece_length}
        total = length
    else:
        files = []
        total = 0
        for f in range(file_count):
            length = rng.randrange(0, 1 << 20)
            files.append({"length": length, "path": ["dir%03d" % (f % 97), "file-%05d.dat" % f]})
            total += length
        info = {"name": "generated-multi-%06d" % index, "files": files, "piece length": piece_length}
    pieces = (total + piece_length - 1) // piece_length
    info["pieces"] = rng.randbytes(20 * pieces)
    meta = {"announce": "http://127.0.0.1:6969/announce", "created by": "queue_bench", "info": info}
    return bencode(meta)


def run(cmd, env):
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), done.stderr.decode(errors="replace")))
    return elapsed, done.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--btq", default=".build/release/btq")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--max-mib", type=int, default=2048, help="largest generated single-file torrent")
    parser.add_argument("--daemon", action="store_true", help="also time btq run's start on the queue")
    parser.add_argument("--keep", metavar="DIR", help="build the queue in DIR (must not exist) and keep it, for profiling")
    args = parser.parse_args()
    btq = os.path.abspath(args.btq)
    rng = random.Random(20261127)
    if args.keep:
        os.makedirs(args.keep)
        work = os.path.abspath(args.keep)
    else:
        work = tempfile.mkdtemp(prefix="btq-queue-bench-")
    try:
        db = os.path.join(work, "btq.sqlite")
        env = dict(os.environ, BTQ_DB=db)
        tdir = os.path.join(work, "torrents")
        os.mkdir(tdir)
        paths = []
        t0 = time.perf_counter()
        for i in range(args.count):
            path = os.path.join(tdir, "t%06d.torrent" % i)
            with open(path, "wb") as f:
                f.write(make_torrent(rng, i, 1 if i % 50 else 20, args.max_mib))
            paths.append(path)
        gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        batch = 500
        for i in range(0, len(paths), batch):
            # The last batch is queued (for the daemon to start), the rest paused.
            paused = ["--paused"] if i + batch < len(paths) or not args.daemon else []
            run([btq, "add", "--dir", os.path.join(work, "dl")] + paused + paths[i : i + batch], env)
        add_all = time.perf_counter() - t0
        _, out = run([btq, "list"], env)
        listed = len(out.splitlines()) - 1
        if listed != args.count:
            sys.exit("btq list printed %d torrents, expected %d" % (listed, args.count))
        list_times = [run([btq, "list"], env)[0] for _ in range(args.runs)]
        json_times = [run([btq, "list", "--json"], env)[0] for _ in range(args.runs)]
        help_times = [run([btq, "--version"], env)[0] for _ in range(args.runs)]
        big = os.path.join(work, "big.torrent")
        with open(big, "wb") as f:
            f.write(make_torrent(rng, 999999, args.files))
        add_times = []
        for r in range(args.runs):
            fresh = dict(env, BTQ_DB=os.path.join(work, "fresh-%d.sqlite" % r))
            run([btq, "list"], fresh)  # create and migrate the database outside the timing
            add_times.append(run([btq, "add", "--paused", "--dir", work, big], fresh)[0])
        add_big_full = [
            run([btq, "add", "--paused", "--dir", work, big], dict(env, BTQ_DB=os.path.join(work, "full-%d.sqlite" % r)))[0]
            for r in range(3)
        ]
        size = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
        daemon = daemon_start(btq, env, args.runs) if args.daemon else None
        ms = lambda xs: statistics.median(xs) * 1000
        print("btq queue benchmark: %d torrents (every 50th with 20 files), release binary %s" % (args.count, btq))
        print("| measure | value | goal |")
        print("|---|---|---|")
        print("| generate %d .torrent files (python) | %.1f s | |" % (args.count, gen))
        print("| `btq add` of all, %d per call | %.1f s (%.2f ms/torrent) | |" % (batch, add_all, add_all * 1000 / args.count))
        print("| `btq --version` (process start floor), median of %d | %.1f ms | |" % (args.runs, ms(help_times)))
        print("| `btq list` on %d torrents, median of %d | %.1f ms (min %.1f) | < 150 ms |" % (args.count, args.runs, ms(list_times), min(list_times) * 1000))
        print("| `btq list --json`, median | %.1f ms | |" % ms(json_times))
        print("| `btq add` of a %d-file torrent into a migrated db, median of %d | %.1f ms (min %.1f) | < 100 ms |" % (args.files, args.runs, ms(add_times), min(add_times) * 1000))
        print("| same into a new db (incl. create + migrate), median of 3 | %.1f ms | |" % ms(add_big_full))
        print("| database size (db + wal) | %.1f MiB (%.0f bytes/torrent) | |" % (size / 2**20, size / args.count))
        if daemon:
            starts, cpu = daemon
            print("| `btq run`: launch to first started download, median of %d | %.0f ms (max %.0f) | < 2000 ms |" % (len(starts), ms(starts), max(starts) * 1000))
            print("| `btq run` CPU while working that queue for 10 s | %.1f%% of one core | |" % cpu)
        ratio_list = ms(list_times) / 150
        ratio_add = ms(add_times) / 100
        print("ratios to goal: list %.2f, add %.2f (below 1.00 meets the goal)" % (ratio_list, ratio_add))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def daemon_start(btq, env, runs):
    """Times `btq run` from launch to its first 'started' line, `runs` times; then its CPU over 10 s."""
    ns = []
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0:
        ns = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
    starts = []
    cpu = 0.0
    # No DHT node: nothing leaves the machine, and the daemon's own work is what is timed.
    subprocess.run([btq, "config", "set", "dht", "off"], env=env, check=True, stdout=subprocess.DEVNULL)
    for r in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(ns + [btq, "run", "--port", "%d" % (41000 + r), "--max-active", "3", "--bind-address", "127.0.0.1"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            deadline = time.monotonic() + 60
            for line in proc.stdout:
                if " started #" in line:
                    starts.append(time.perf_counter() - t0)
                    break
                if time.monotonic() > deadline:
                    break
            if r == runs - 1:
                ticks = os.sysconf("SC_CLK_TCK")
                def used():
                    fields = open("/proc/%d/stat" % proc.pid).read().rsplit(")", 1)[1].split()
                    return (int(fields[11]) + int(fields[12])) / ticks
                before = used()
                time.sleep(10)
                cpu = (used() - before) / 10 * 100
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    if not starts:
        sys.exit("btq run never started a download")
    return starts, cpu


if __name__ == "__main__":
    main()
