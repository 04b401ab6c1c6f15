#!/usr/bin/env python3
"""Transmission RPC benchmark for btq (issue 14).

Adds N generated torrents (paused; every 50th with 20 files) to a fresh database, starts
`btq run --rpc` on it (127.0.0.1 only; the torrents announce to 127.0.0.1, and being paused, nowhere),
and times `torrent-get` of every torrent with every field btq knows (files, trackers and peers
included; the first request, which reads every torrent's files and trackers from the store, apart from
the later ones, which find those of torrents not being worked cached), and with the fields
`transmission-remote -l` asks for. Reports the median request latency
(the HTTP round trip, as a client sees it), the answer's size and the ratio to the goal: under 100 ms
at 10,000 torrents with all fields. With --baseline, another binary (say, one built before a change) is
measured in the same run on the same torrents, each with its own database. Usage:
  Benchmarks/rpc_bench.py [--btq .build/debug/btq] [--baseline OTHER_BTQ] [--count 10000] [--runs 7]
"""
import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queue_bench import make_torrent, run  # noqa: E402

ALL_FIELDS = """activityDate addedDate bandwidthPriority comment corruptEver creator dateCreated desiredAvailable
doneDate downloadDir downloadedEver downloadLimit downloadLimited editDate error errorString eta etaIdle file-count
files fileStats group hashString haveUnchecked haveValid honorsSessionLimits id isFinished isPrivate isStalled labels
leftUntilDone magnetLink manualAnnounceTime maxConnectedPeers metadataPercentComplete name peer-limit peers
peersConnected peersFrom peersGettingFromUs peersSendingToUs percentComplete percentDone pieces pieceCount pieceSize
priorities primary-mime-type queuePosition rateDownload rateUpload recheckProgress secondsDownloading secondsSeeding
seedIdleLimit seedIdleMode seedRatioLimit seedRatioMode sequentialDownload sizeWhenDone startDate status trackers
trackerList trackerStats totalSize torrentFile uploadedEver uploadLimit uploadLimited uploadRatio wanted webseeds
webseedsSendingToUs""".split()
LIST_FIELDS = """error errorString eta id isFinished leftUntilDone name peersGettingFromUs peersSendingToUs
rateDownload rateUpload sizeWhenDone status uploadRatio""".split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, body, session):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    connection.request("POST", "/transmission/rpc", body, {"X-Transmission-Session-Id": session})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.getheader("X-Transmission-Session-Id"), data


def session_id(port, timeout=60):
    """The session id the daemon on `port` hands out (its 409), once it answers; exits after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            _, session, _ = post(port, "{}", "")
            if session:
                return session
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"btq run --rpc did not answer within {timeout} s")


def timed(port, session, fields, runs):
    body = json.dumps({"method": "torrent-get", "arguments": {"fields": fields}})
    times = []
    size = count = 0
    for _ in range(runs):
        start = time.perf_counter()
        status, _, data = post(port, body, session)
        times.append(time.perf_counter() - start)
        if status != 200:
            sys.exit("torrent-get answered %d: %s" % (status, data[:200]))
        answer = json.loads(data)
        if answer["result"] != "success":
            sys.exit("torrent-get: %s" % answer["result"])
        size, count = len(data), len(answer["arguments"]["torrents"])
    return times, size, count


def measure(btq, work, paths, runs):
    """Adds the torrents to a fresh database of `btq`, starts its daemon and times the requests."""
    db = os.path.join(work, "btq.sqlite")
    env = dict(os.environ, BTQ_DB=db)
    daemon = None
    try:
        for i in range(0, len(paths), 500):
            run([btq, "add", "--paused", "--dir", os.path.join(work, "dl")] + paths[i : i + 500], env)
        run([btq, "config", "set", "dht", "off"], env)
        port = free_port()
        daemon = subprocess.Popen(
            [btq, "run", "--port", str(free_port()), "--rpc", "--rpc-port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        session = session_id(port)
        # The first request reads every torrent's files and trackers from the store; later ones find those
        # of the torrents not being worked in the daemon's cache.
        cold_times, _, _ = timed(port, session, ALL_FIELDS, 1)
        all_times, all_size, all_count = timed(port, session, ALL_FIELDS, runs)
        list_times, list_size, _ = timed(port, session, LIST_FIELDS, runs)
        return {"cold": cold_times[0], "all": all_times, "all_size": all_size, "count": all_count,
                "list": list_times, "list_size": list_size}
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--btq", default=".build/debug/btq")
    parser.add_argument("--baseline", help="another btq binary (e.g. before a change) measured in the same run")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    binaries = [os.path.abspath(args.btq)] + ([os.path.abspath(args.baseline)] if args.baseline else [])
    rng = random.Random(20261204)
    work = tempfile.mkdtemp(prefix="btq-rpc-bench-")
    try:
        tdir = os.path.join(work, "torrents")
        os.mkdir(tdir)
        paths = []
        for i in range(args.count):
            path = os.path.join(tdir, "t%06d.torrent" % i)
            with open(path, "wb") as f:
                f.write(make_torrent(rng, i, 1 if i % 50 else 20))
            paths.append(path)
        results = []
        for n, btq in enumerate(binaries):
            folder = os.path.join(work, "db%d" % n)
            os.mkdir(folder)
            results.append((btq, measure(btq, folder, paths, args.runs)))
        ms = lambda xs: statistics.median(xs) * 1000
        goal = 100.0
        print("btq RPC benchmark: %d torrents (every 50th of 20 files), %d runs each" % (args.count, args.runs))
        print("| binary | request | median | min | answer | ratio to the 100 ms goal |")
        print("|---|---|---|---|---|---|")
        for btq, r in results:
            print("| %s | torrent-get, all %d fields, %d torrents | %.1f ms | %.1f ms | %.1f MiB | %.2fx |" % (
                btq, len(ALL_FIELDS), r["count"], ms(r["all"]), min(r["all"]) * 1000, r["all_size"] / 2**20,
                ms(r["all"]) / goal))
            print("| %s | the same, the first request (nothing cached) | %.1f ms | | | %.2fx |" % (
                btq, r["cold"] * 1000, r["cold"] * 1000 / goal))
            print("| %s | torrent-get, the fields of `transmission-remote -l` | %.1f ms | %.1f ms | %.1f MiB | |" % (
                btq, ms(r["list"]), min(r["list"]) * 1000, r["list_size"] / 2**20))
        if len(results) == 2:
            new, old = results[0][1], results[1][1]
            print("speed-up over the baseline: all fields %.1fx, first request %.1fx, list fields %.1fx" % (
                ms(old["all"]) / ms(new["all"]), old["cold"] / new["cold"], ms(old["list"]) / ms(new["list"])))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
