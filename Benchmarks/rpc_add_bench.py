#!/usr/bin/env python3
"""rpc_add_bench.py -- the memory `btq run --rpc` takes to add a large .torrent over the RPC (issue 14).

Usage: Benchmarks/rpc_add_bench.py [--btq .build/release/btq] [--baseline OTHER_BTQ] [--runs 3]

For each input (large .torrent files built as Benchmarks/hostile_inputs.py builds them), starts
`btq run --rpc` on a fresh database (127.0.0.1 only, DHT off, nothing in the queue), resets the
daemon's peak resident memory (/proc/PID/clear_refs), sends `torrent-add` with the file's bytes in
base64 (`metainfo`, as transmission-remote and the web interface send a file), and reads the daemon's
peak (VmHWM) once the answer is back: the figure is that peak above the resident memory just before
the request, the median of --runs runs. With --baseline, another binary (say, one built before a
change) is measured in the same run on the same inputs. No network is used beyond loopback.
"""

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_inputs import v1, v2_tree, hybrid, PIECE, MAX_INPUT  # noqa: E402
from rpc_bench import free_port, post, session_id  # noqa: E402


def inputs():
    yield "250,000 files, 2 folders deep", v1([(["a", f"d{i % 500}", f"f{i:06d}"], 1) for i in range(250_000)])
    yield "v2 file tree, 200,000 files in 500 folders", v2_tree(200_000, 500)
    yield "hybrid, 90,000 files in 500 folders", hybrid(90_000, 500)
    pieces = (MAX_INPUT - 4096) // 20
    yield f"{pieces:,} v1 piece hashes (16 MiB)", v1([(["big"], pieces * PIECE)])


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(key)


def measure(btq, work, data):
    """Peak MiB above the resident memory before the request, the RSS before, and the answer's time."""
    db = os.path.join(work, "btq.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    env = dict(os.environ, BTQ_DB=db)
    subprocess.run([btq, "config", "set", "dht", "off"], env=env, check=True, capture_output=True)
    port = free_port()
    daemon = subprocess.Popen(
        [btq, "run", "--port", str(free_port()), "--rpc", "--rpc-port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    try:
        session = session_id(port)
        body = json.dumps({"method": "torrent-add", "arguments": {
            "metainfo": base64.b64encode(data).decode(), "paused": True, "download-dir": work}})
        time.sleep(1)  # let the daemon's start settle before its peak is reset
        with open(f"/proc/{daemon.pid}/clear_refs", "w") as f:
            f.write("5")
        before = status_kib(daemon.pid, "VmRSS")
        start = time.perf_counter()
        status, _, answer = post(port, body, session)
        seconds = time.perf_counter() - start
        peak = status_kib(daemon.pid, "VmHWM")
        result = json.loads(answer)["result"]
        if status != 200 or result != "success":
            sys.exit(f"torrent-add answered {status}: {result}")
        return (peak - before) / 1024, before / 1024, seconds
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--btq", default=".build/release/btq")
    parser.add_argument("--baseline")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    binaries = [os.path.abspath(args.btq)] + ([os.path.abspath(args.baseline)] if args.baseline else [])
    work = tempfile.mkdtemp(prefix="btq-rpc-add-")
    try:
        print("| input | body | binary | peak above the RSS before (median) | RSS before | answer |")
        print("|---|---|---|---|---|---|")
        for name, data in inputs():
            body_mib = len(base64.b64encode(data)) / 2**20
            for btq in binaries:
                runs = [measure(btq, work, data) for _ in range(args.runs)]
                peak = statistics.median(r[0] for r in runs)
                rss = statistics.median(r[1] for r in runs)
                secs = statistics.median(r[2] for r in runs)
                print(f"| {name} | {body_mib:.1f} MiB | {btq} | +{peak:.1f} MiB | {rss:.1f} MiB | {secs:.2f} s |",
                      flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
