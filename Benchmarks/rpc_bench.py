#!/usr/bin/env python3
"""Transmission RPC benchmark for btq (issue 14).

Adds N generated torrents (paused; every 50th with 20 files) to a fresh database, starts
`btq run --rpc` on it (127.0.0.1 only; the torrents announce to 127.0.0.1, and being paused, nowhere),
and times `torrent-get` of every torrent with every field btq knows (files, trackers and peers
included; the first request, which reads every torrent's files and trackers from the store, apart from
the later ones, which find those of torrents not being worked cached), and with the fields
`transmission-remote -l` asks for. Reports the median request latency
(the HTTP round trip, as a client sees it) and the answer's size. Goal: under 100 ms at 10,000
torrents with all fields. Usage:
  Benchmarks/rpc_bench.py [--btq .build/debug/btq] [--count 10000] [--runs 7]
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--btq", default=".build/debug/btq")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    btq = os.path.abspath(args.btq)
    rng = random.Random(20261204)
    work = tempfile.mkdtemp(prefix="btq-rpc-bench-")
    daemon = None
    try:
        db = os.path.join(work, "btq.sqlite")
        env = dict(os.environ, BTQ_DB=db)
        tdir = os.path.join(work, "torrents")
        os.mkdir(tdir)
        paths = []
        for i in range(args.count):
            path = os.path.join(tdir, "t%06d.torrent" % i)
            with open(path, "wb") as f:
                f.write(make_torrent(rng, i, 1 if i % 50 else 20))
            paths.append(path)
        for i in range(0, len(paths), 500):
            run([btq, "add", "--paused", "--dir", os.path.join(work, "dl")] + paths[i : i + 500], env)
        run([btq, "config", "set", "dht", "off"], env)
        port = free_port()
        daemon = subprocess.Popen(
            [btq, "run", "--port", str(free_port()), "--rpc", "--rpc-port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        session = None
        while time.time() < deadline and session is None:
            try:
                _, session, _ = post(port, "{}", "")
            except OSError:
                time.sleep(0.2)
        if session is None:
            sys.exit("btq run --rpc did not answer within 60 s")
        # The first request reads every torrent's files and trackers from the store; later ones find those
        # of the torrents not being worked in the daemon's cache.
        cold_times, _, _ = timed(port, session, ALL_FIELDS, 1)
        all_times, all_size, all_count = timed(port, session, ALL_FIELDS, args.runs)
        list_times, list_size, _ = timed(port, session, LIST_FIELDS, args.runs)
        ms = lambda xs: statistics.median(xs) * 1000
        print("btq RPC benchmark: %d torrents, binary %s" % (args.count, btq))
        print("| request | median of %d | min | answer | goal |" % args.runs)
        print("|---|---|---|---|---|")
        print("| torrent-get, all %d fields, %d torrents | %.1f ms | %.1f ms | %.1f MiB | < 100 ms |" % (
            len(ALL_FIELDS), all_count, ms(all_times), min(all_times) * 1000, all_size / 2**20))
        print("| the same, the first request (nothing cached) | %.1f ms | | | |" % (cold_times[0] * 1000))
        print("| torrent-get, the fields of `transmission-remote -l` | %.1f ms | %.1f ms | %.1f MiB | |" % (
            ms(list_times), min(list_times) * 1000, list_size / 2**20))
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
