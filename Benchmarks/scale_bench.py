#!/usr/bin/env python3
"""Scale benchmark (issue: scale): one daemon seeding N torrents at once, beside libtorrent seeding the same.

For each N (`--counts`), N small torrents are generated with their data in place and announced to a
tracker of this script's own (it records every announce, so the timeline is exact). Then, one client at a
time:
  - btq: `btq add` of all into a fresh database (`max_active_seeds` N, no DHT), then `btq run` twice:
    the first start checks every torrent's data; the restart resumes from the database (what a seedbox
    does every boot). For the restart it reports the time from launch to every torrent announced, the most
    announces the tracker got in one second, resident memory (total and per torrent), CPU while idle, open
    files, threads, and CPU while a libtorrent leecher downloads `--leech` of the torrents from it;
    also `btq list` on that queue.
  - libtorrent (python3-libtorrent) seeding the same files in one session (`seed_mode`, so nothing is
    hashed: the same work as btq's restart), measured the same way, in a process of its own.
  - Transmission (transmission-daemon, its own config folder; DHT, LPD, PEX, uTP and port forwarding off,
    no queues, peers and RPC on 127.0.0.1): launched, every torrent added through its RPC (`torrent-add`,
    one request each, as fast as it answers), its data checked until every torrent is complete and
    announced (the first start, adds included), then stopped and restarted from its resume files, measured
    as btq's restart. `--no-transmission` leaves it out.
With `--downloads N`, also N torrents downloading at once: a libtorrent session seeds them (TCP, from the
tracker's peer list), then btq (`max_active_downloads` N, one `btq run`) and a fresh libtorrent session
each download all N into an empty folder, one after the other. For each: the time from launch until every
torrent is complete (btq: its `completed` announces; libtorrent: every torrent seeding), CPU seconds,
peak resident memory and the most open files; btq's data is compared with the seeder's.
Figures are printed as a Markdown table with btq/libtorrent ratios. Everything binds 127.0.0.1, inside a
loopback-only network namespace. Run by hand (not in CI), on a release build:
  swift build -c release --product btq
  Benchmarks/scale_bench.py --btq .build/release/btq --counts 100,1000,5000
  Benchmarks/scale_bench.py --btq .build/release/btq --counts 0 --downloads 200
"""
import argparse
import base64
import hashlib
import http.client
import http.server
import json
import os
import random
import shlex
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback_namespace  # noqa: E402
from queue_bench import bencode  # noqa: E402

LT_PYTHON = "/usr/bin/python3"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the tracker -------------------------------------------------------------------------------------


class Tracker:
    """An HTTP tracker that records (time, info-hash, peer port, event) for each announce and answers
    with the other peers that announced the torrent (compact), interval `interval`; it answers scrapes
    of several torrents at once (BEP 48, as opentracker does: the torrents it knows) and records
    (time, hashes asked) for each."""

    def __init__(self, interval):
        self.interval = interval
        self.lock = threading.Lock()
        self.log = []
        self.scrapes = []
        self.marked_at = time.monotonic()
        self.peers = {}
        # Peers listed for each torrent that are gone (nothing listens on their ports): `--stale-peers`.
        self.stale = {}
        tracker = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query, encoding="latin-1")
                if url.path.endswith("/scrape"):
                    self.answer(tracker.scrape([h.encode("latin-1") for h in query.get("info_hash", [])]))
                    return
                try:
                    info_hash = query["info_hash"][0].encode("latin-1")
                    port = int(query["port"][0])
                except (KeyError, ValueError):
                    self.send_error(400)
                    return
                event = query.get("event", [""])[0]
                self.answer(tracker.announce(info_hash, port, event, query.get("left", ["0"])[0] == "0"))

            def answer(self, body):
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a client that stopped while its announce was answered (at the end of a phase)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            request_queue_size = 1024

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def announce(self, info_hash, port, event, seed):
        now = time.monotonic()
        with self.lock:
            self.log.append((now, info_hash, port, event, seed))
            peers = self.peers.setdefault(info_hash, {})
            if event == "stopped":
                peers.pop(port, None)
            else:
                peers[port] = seed
            others = (self.stale.get(info_hash, []) + [p for p in peers if p != port])[:50]
        compact = b"".join(socket.inet_aton("127.0.0.1") + p.to_bytes(2, "big") for p in others)
        return bencode({"interval": self.interval, "complete": len(others), "incomplete": 0, "peers": compact})

    def scrape(self, hashes):
        with self.lock:
            self.scrapes.append((time.monotonic(), len(hashes)))
            files = {}
            for info_hash in hashes:
                peers = self.peers.get(info_hash)
                if len(info_hash) == 20 and peers:
                    seeds = sum(1 for seed in peers.values() if seed)
                    files[info_hash] = {"complete": seeds, "downloaded": 0, "incomplete": len(peers) - seeds}
        return bencode({"files": files})

    def scrapes_since_mark(self):
        """(requests, hashes asked) of the scrapes since the last `mark`."""
        with self.lock:
            recent = [n for at, n in self.scrapes if at >= self.marked_at]
        return len(recent), sum(recent)

    def add_stale(self, hashes, per_torrent):
        """Lists `per_torrent` gone peers for each of `hashes`, every one on a port of its own below the
        ephemeral range (nothing here listens there: a dial is refused at once), as a tracker lists peers
        that left without saying `stopped`."""
        with self.lock:
            port = 2000
            for info_hash in hashes:
                self.stale[info_hash] = list(range(port, port + per_torrent))
                port += per_torrent
        if port > 32768:
            sys.exit("--stale-peers: too many gone peers for the ports below 32768")

    def mark(self):
        with self.lock:
            self.marked_at = time.monotonic()
            return len(self.log)

    def announced_since(self, mark, port):
        """{info_hash: first time} of announces from `port` after `mark`, and their times."""
        with self.lock:
            entries = [e for e in self.log[mark:] if e[2] == port]
        first = {}
        for at, info_hash, _, _, _ in entries:
            first.setdefault(info_hash, at)
        return first, [e[0] for e in entries]


# --- the torrents ------------------------------------------------------------------------------------


def make_torrents(root, count, size, piece_length, announce, seed=20261204):
    """N single-file torrents of `size` random bytes each: (torrent paths, data folder, info-hashes)."""
    rng = random.Random(seed)
    data = os.path.join(root, "data")
    tdir = os.path.join(root, "torrents")
    os.makedirs(data)
    os.makedirs(tdir)
    paths, hashes = [], []
    for i in range(count):
        name = "scale-%06d.bin" % i
        content = rng.randbytes(size)
        with open(os.path.join(data, name), "wb") as f:
            f.write(content)
        pieces = b"".join(hashlib.sha1(content[o : o + piece_length]).digest() for o in range(0, size, piece_length))
        info = {"name": name, "length": size, "piece length": piece_length, "pieces": pieces}
        hashes.append(hashlib.sha1(bencode(info)).digest())
        path = os.path.join(tdir, "t%06d.torrent" % i)
        with open(path, "wb") as f:
            f.write(bencode({"announce": announce, "created by": "scale_bench", "info": info}))
        paths.append(path)
    return paths, data, hashes


# --- measuring a process -----------------------------------------------------------------------------


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def open_files(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def snmp():
    """The namespace's protocol counters (/proc/net/snmp), as {("Tcp", "AttemptFails"): n, ...}."""
    counters = {}
    with open("/proc/net/snmp") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[0::2], lines[1::2]):
        proto = names.split(":")[0]
        for name, value in zip(names.split()[1:], values.split()[1:]):
            counters[(proto, name)] = int(value)
    return counters


def cpu_share(pid, seconds):
    """Share of one core `pid` used over the next `seconds`; the share of each 10 s of it is printed, to
    show whether the cost is steady or a start's tail (gone peers' first attempts, say)."""
    before, t0 = cpu_seconds(pid), time.monotonic()
    shares, last, at = [], before, t0
    while time.monotonic() - t0 < seconds:
        time.sleep(min(10, seconds - (time.monotonic() - t0)))
        now, used = time.monotonic(), cpu_seconds(pid)
        shares.append(100 * (used - last) / (now - at))
        last, at = used, now
    print("  CPU while idle, each 10 s: %s (%% of a core)" % " ".join("%.1f" % share for share in shares), flush=True)
    return (cpu_seconds(pid) - before) / (time.monotonic() - t0)


def wait_all_announced(tracker, mark, port, hashes, proc, timeout):
    """Seconds from now until every hash was announced from `port` (None on timeout), and the most
    announces in one second."""
    wanted = set(hashes)
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            sys.exit("the client exited early (status %s)" % proc.returncode)
        first, _ = tracker.announced_since(mark, port)
        if wanted <= first.keys():
            break
        time.sleep(0.05)
    first, times = tracker.announced_since(mark, port)
    got = [first[h] for h in wanted if h in first]
    done = max(got) - start if len(got) == len(wanted) else None
    per_second = {}
    for at in times:
        per_second[int(at - start)] = per_second.get(int(at - start), 0) + 1
    if per_second:
        # The timeline: whether announces come spread out or in a storm, and where a start waits.
        print("  announces per second from launch: %s" % " ".join(
            str(per_second.get(second, 0)) for second in range(max(per_second) + 1)), flush=True)
    return done, len(got), max(per_second.values(), default=0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the load: one libtorrent session downloading some of the torrents --------------------------------

# TCP only: libtorrent dials uTP first, and btq (no uTP yet) would cost each new peer libtorrent's uTP
# connect timeout (about 4 s) before the TCP fallback; the load measures serving, not that. A peer that
# closed the connection is tried again after 1 s (libtorrent waits 60 s): Transmission drops an incoming
# connection while another handshake from the same address is under way, and every torrent's leecher
# here comes from 127.0.0.1 at once.
LEECHER = r"""
import sys, time, libtorrent as lt
port, out, timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ses = lt.session({"listen_interfaces": "127.0.0.1:%d" % port, "enable_dht": False, "enable_lsd": False,
    "enable_upnp": False, "enable_natpmp": False, "allow_multiple_connections_per_ip": True,
    "enable_outgoing_utp": False, "enable_incoming_utp": False, "min_reconnect_time": 1,
    "active_downloads": -1, "active_limit": -1, "connections_limit": 2000, "alert_mask": 0})
handles = [ses.add_torrent({"ti": lt.torrent_info(path), "save_path": out}) for path in sys.argv[4:]]
start = time.monotonic()
while time.monotonic() - start < timeout:
    if all(h.status().is_seeding for h in handles):
        print("done %.3f" % (time.monotonic() - start), flush=True)
        sys.exit(0)
    time.sleep(0.05)
print("timeout %d/%d" % (sum(h.status().is_seeding for h in handles), len(handles)), flush=True)
sys.exit(1)
"""

LT_SEEDER = r"""
import sys, time, libtorrent as lt
port, data = int(sys.argv[1]), sys.argv[2]
ses = lt.session({"listen_interfaces": "127.0.0.1:%d" % port, "enable_dht": False, "enable_lsd": False,
    "enable_upnp": False, "enable_natpmp": False, "allow_multiple_connections_per_ip": True,
    "active_seeds": -1, "active_limit": -1, "active_tracker_limit": -1, "connections_limit": 2000,
    "alert_mask": 0})
for path in sys.argv[3:]:
    ses.add_torrent({"ti": lt.torrent_info(path), "save_path": data, "flags": lt.torrent_flags.seed_mode})
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


def leech(work, torrents, timeout):
    """Downloads `torrents` with a fresh libtorrent session; seconds taken (None on timeout)."""
    out = tempfile.mkdtemp(dir=work, prefix="leech-")
    done = subprocess.run(
        [LT_PYTHON, "-c", LEECHER, str(free_port()), out, str(timeout)] + torrents,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shutil.rmtree(out, ignore_errors=True)
    words = done.stdout.split()
    if done.returncode == 0 and words[:1] == ["done"]:
        return float(words[1])
    print("  the leecher failed: %s %s" % (done.stdout.strip(), done.stderr.strip()[-500:]), flush=True)
    return None


def measure_running(name, proc, port, tracker, mark, hashes, work, torrents, args):
    """The figures of a seeding client `proc` from its launch (just before `mark`)."""
    announced, got, burst = wait_all_announced(tracker, mark, port, hashes, proc, args.timeout)
    if announced is None:
        print("  %s: only %d of %d torrents announced within %d s" % (name, got, len(hashes), args.timeout))
    time.sleep(2)  # let the start settle before the idle window
    counted = snmp()
    idle = cpu_share(proc.pid, args.idle)
    # The client is the only process in the namespace that dials during the window: TCP connections it
    # opened that were refused (gone peers; its announces and scrapes get through), and the UDP datagrams
    # it sent (uTP SYNs and port probes to them; the tracker here is HTTP).
    after = snmp()
    refused = after[("Tcp", "AttemptFails")] - counted[("Tcp", "AttemptFails")]
    datagrams = after[("Udp", "OutDatagrams")] - counted[("Udp", "OutDatagrams")]
    figures = {
        "refused": refused, "datagrams": datagrams,
        "per_attempt": idle * args.idle / refused if refused else None,
        "scrapes": tracker.scrapes_since_mark(),
        "announced": announced, "burst": burst, "idle_cpu": idle,
        "rss": status(proc.pid, "VmRSS"), "hwm": status(proc.pid, "VmHWM"), "anon": status(proc.pid, "RssAnon"),
        "files": open_files(proc.pid), "threads": status(proc.pid, "Threads"),
    }
    picked = random.Random(7).sample(torrents, min(args.leech, len(torrents)))
    before, t0 = cpu_seconds(proc.pid), time.monotonic()
    figures["leech"] = leech(work, picked, args.timeout)
    figures["load_cpu"] = (cpu_seconds(proc.pid) - before) / (time.monotonic() - t0)
    figures["rss_after_load"] = status(proc.pid, "VmRSS")
    return figures


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_btq(btq, work, count, torrents, data, hashes, tracker, args):
    env = dict(os.environ, BTQ_DB=os.path.join(work, "btq.sqlite"))

    def tool(*argv):
        done = subprocess.run([btq] + list(argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if done.returncode != 0:
            sys.exit("btq %s failed: %s" % (argv[0], done.stderr.decode(errors="replace")))
        return done.stdout

    settings = [("max_active_seeds", str(count)), ("dht", "off"), ("dht_bootstrap_nodes", "")]
    if args.max_open_files:
        settings.append(("max_open_files", str(args.max_open_files)))
    for key, value in settings:
        tool("config", "set", key, value)
    t0 = time.monotonic()
    for i in range(0, len(torrents), 500):
        tool("add", "--dir", data, *torrents[i : i + 500])
    add_time = time.monotonic() - t0
    port = free_port()
    results = {"add": add_time}
    for phase in ["first", "restart"]:
        log = open(os.path.join(work, "btq-run-%s.log" % phase), "w")
        mark = tracker.mark()
        t0 = time.monotonic()
        given = args.restart_prefix if phase == "restart" else args.first_prefix
        prefix = shlex.split(given) if given else []
        proc = subprocess.Popen(
            prefix + [btq, "run", "--port", str(port), "--bind-address", "127.0.0.1"], env=env, stdout=log,
            stderr=log)
        try:
            if phase == "first":
                announced, got, _ = wait_all_announced(tracker, mark, port, hashes, proc, args.timeout)
                results["first_announced"] = announced
                results["first_got"] = got
            else:
                results.update(measure_running("btq", proc, port, tracker, mark, hashes, work, torrents, args))
        finally:
            stop(proc)
            log.close()
    times = []
    for _ in range(5):
        t0 = time.monotonic()
        tool("list")
        times.append(time.monotonic() - t0)
    results["list"] = statistics.median(times)
    return results


def run_libtorrent(work, torrents, data, hashes, tracker, args):
    port = free_port()
    mark = tracker.mark()
    proc = subprocess.Popen(
        [LT_PYTHON, "-c", LT_SEEDER, str(port), data] + torrents, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True)
    try:
        return measure_running("libtorrent", proc, port, tracker, mark, hashes, work, torrents, args)
    finally:
        proc.kill()
        proc.wait()


class TransmissionRPC:
    """Transmission's RPC on 127.0.0.1:`port`: JSON requests with the session id it hands out in a 409."""

    def __init__(self, port):
        self.port = port
        self.session = ""

    def call(self, method, **arguments):
        body = json.dumps({"method": method, "arguments": arguments})
        for _ in range(2):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                connection.request("POST", "/transmission/rpc", body,
                                   {"X-Transmission-Session-Id": self.session, "Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
            finally:
                connection.close()
            if response.status == 409:
                self.session = response.getheader("X-Transmission-Session-Id", "")
                continue
            answer = json.loads(payload)
            if answer.get("result") != "success":
                sys.exit("transmission %s: %s" % (method, answer.get("result")))
            return answer["arguments"]
        sys.exit("transmission %s: no session id" % method)


def transmission_settings(config, peer_port, rpc_port, data, count):
    settings = {
        "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False,
        "port-forwarding-enabled": False, "blocklist-enabled": False,
        "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
        "peer-port": peer_port, "peer-port-random-on-start": False,
        "rpc-enabled": True, "rpc-bind-address": "127.0.0.1", "rpc-port": rpc_port,
        "rpc-authentication-required": False, "rpc-whitelist-enabled": False, "rpc-host-whitelist-enabled": False,
        "speed-limit-down-enabled": False, "speed-limit-up-enabled": False, "alt-speed-enabled": False,
        "download-dir": data, "incomplete-dir-enabled": False, "watch-dir-enabled": False,
        "start-added-torrents": True, "script-torrent-done-enabled": False, "message-level": 1,
        # Every torrent active, as btq's max_active_seeds N and libtorrent's active_seeds -1.
        "download-queue-enabled": False, "seed-queue-enabled": False, "queue-stalled-enabled": False,
        "ratio-limit-enabled": False, "idle-seeding-limit-enabled": False,
        "peer-limit-global": max(2000, count), "peer-limit-per-torrent": 50,
    }
    with open(os.path.join(config, "settings.json"), "w") as f:
        json.dump(settings, f, indent=1, sort_keys=True)


def launch_transmission(config, rpc_port, log):
    proc = subprocess.Popen(["transmission-daemon", "--foreground", "--config-dir", config, "--logfile", log],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("transmission-daemon exited at start (status %s); see %s" % (proc.returncode, log))
        try:
            socket.create_connection(("127.0.0.1", rpc_port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    stop(proc)
    sys.exit("transmission-daemon's RPC port did not open within 60 s")


def run_transmission(work, count, torrents, data, hashes, tracker, args):
    """Transmission seeding the same files: added through its RPC (timed), its first start until every
    torrent is complete and announced, then the restart measured as btq's."""
    config = os.path.join(work, "transmission")
    os.makedirs(config)
    port, rpc_port = free_port(), free_port()
    transmission_settings(config, port, rpc_port, data, count)
    results = {}
    for phase in ["first", "restart"]:
        log = os.path.join(config, "transmission-%s.log" % phase)
        mark = tracker.mark()
        launched = time.monotonic()
        proc = launch_transmission(config, rpc_port, log)
        try:
            rpc = TransmissionRPC(rpc_port)
            if phase == "first":
                t0 = time.monotonic()
                for path in torrents:
                    with open(path, "rb") as f:
                        metainfo = base64.b64encode(f.read()).decode()
                    rpc.call("torrent-add", metainfo=metainfo, **{"download-dir": data})
                results["add"] = time.monotonic() - t0
                # Its data is found and checked once added; complete when every torrent is.
                deadline = time.monotonic() + args.timeout
                complete = 0
                while complete < count and time.monotonic() < deadline:
                    time.sleep(0.2)
                    states = rpc.call("torrent-get", fields=["percentDone"])["torrents"]
                    complete = sum(t["percentDone"] >= 1 for t in states)
                if complete < count:
                    print("  transmission: %d of %d torrents complete within %d s" % (complete, count, args.timeout))
                waited = time.monotonic()
                announced, got, _ = wait_all_announced(tracker, mark, port, hashes, proc, args.timeout)
                results["first_announced"] = None if announced is None else announced + waited - launched
            else:
                results.update(measure_running("transmission", proc, port, tracker, mark, hashes, work, torrents,
                                               args))
        finally:
            stop(proc)
    return results


def fmt_seconds(value):
    return "—" if value is None else "%.1f s" % value


def ratio(a, b):
    return "—" if a is None or b is None or b == 0 else "%.2f" % (a / b)


def report(count, btq, lt, tr):
    tr = tr or {}
    print("\n### %d seeding torrents\n" % count)
    print("| figure | btq | libtorrent | btq / libtorrent | Transmission | btq / Transmission |")
    print("|---|---|---|---|---|---|")
    print("| adding all (btq: `btq add`, 500 per call; Transmission: `torrent-add` over RPC, one each) | %s | | | %s | %s |"
          % (fmt_seconds(btq["add"]), fmt_seconds(tr.get("add")), ratio(btq["add"], tr.get("add"))))
    print("| first start, every torrent's data checked: launch to all announced (Transmission: its adds included) "
          "| %s | | | %s | %s |"
          % (fmt_seconds(btq["first_announced"]), fmt_seconds(tr.get("first_announced")),
             ratio(btq["first_announced"], tr.get("first_announced"))))
    rows = [
        ("launch to all announced (restart; libtorrent seed_mode)", "announced", fmt_seconds, True),
        ("most announces in one second", "burst", str, True),
        ("resident memory, idle", "rss", lambda k: "%.1f MiB" % (k / 1024), True),
        ("resident memory per torrent", "rss", lambda k: "%.1f KiB" % (k / count), False),
        ("of it anonymous (the rest file pages: code, the database's)", "anon", lambda k: "%.1f MiB" % (k / 1024), True),
        ("peak resident memory", "hwm", lambda k: "%.1f MiB" % (k / 1024), True),
        ("CPU while idle", "idle_cpu", lambda c: "%.1f%% of a core" % (100 * c), True),
        ("TCP dials refused over the idle window (gone peers)", "refused", str, True),
        ("UDP datagrams sent over the idle window", "datagrams", str, True),
        ("CPU over the idle window per refused dial", "per_attempt", lambda s: "%.2f ms" % (1000 * s), True),
        ("open files", "files", str, True),
        ("threads", "threads", str, True),
        ("scrape requests from launch to the idle window's end (torrents asked)", "scrapes",
         lambda s: "%d (%d)" % s, False),
        ("a leecher downloads %s torrents from it" % "some", "leech", fmt_seconds, True),
        ("CPU during that load", "load_cpu", lambda c: "%.1f%% of a core" % (100 * c), True),
        ("resident memory after the load", "rss_after_load", lambda k: "%.1f MiB" % (k / 1024), True),
    ]
    for label, key, show, with_ratio in rows:
        b, l, t = btq.get(key), lt.get(key) if lt else None, tr.get(key)
        print("| %s | %s | %s | %s | %s | %s |" % (
            label, show(b) if b is not None else "—", show(l) if l is not None else "—",
            ratio(b, l) if with_ratio else "", show(t) if t is not None else "—", ratio(b, t) if with_ratio else ""))
    print("| `btq list`, median of 5 | %.0f ms | | | | |" % (btq["list"] * 1000))


# --- N torrents downloading at once ----------------------------------------------------------------


def wait_all_events(tracker, mark, port, hashes, event, proc, timeout):
    """Seconds from now until every hash had an `event` announce from `port` (None on timeout), and how
    many had one; samples `proc`'s open files meanwhile (the most seen). A `completed` is also an announce
    with nothing left: a torrent done before its first announce went out says `started` as a seed (BEP 3
    has no `completed` for it), as btq and libtorrent do. Prints when the first, a tenth, half, nine
    tenths and the last of the `started` and `event` announces came."""
    wanted = set(hashes)
    start = time.monotonic()
    most_files = 0
    while True:
        if proc.poll() is not None:
            sys.exit("the client exited early (status %s)" % proc.returncode)
        most_files = max(most_files, open_files(proc.pid))
        with tracker.lock:
            entries = [e for e in tracker.log[mark:] if e[2] == port]
        done = lambda e: e[3] == event or (event == "completed" and e[4])  # noqa: E731
        seen = {e[1] for e in entries if done(e)}
        if wanted <= seen:
            for kind, accept in [("started", lambda e: e[3] == "started"), (event, done)]:
                first = {}
                for e in entries:
                    if accept(e):
                        first.setdefault(e[1], e[0] - start)
                times = sorted(first.values())
                if times:
                    print("  %s, seconds from launch: first %.2f, 10%% %.2f, 50%% %.2f, 90%% %.2f, last %.2f"
                          % (kind, times[0], times[len(times) // 10], times[len(times) // 2],
                             times[9 * len(times) // 10], times[-1]), flush=True)
            return time.monotonic() - start, len(wanted), most_files
        if time.monotonic() - start > timeout:
            return None, len(wanted & seen), most_files
        time.sleep(0.05)


def reap(proc):
    """Waits for `proc`; its (CPU seconds, peak resident KiB) from the kernel's accounting."""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def same_data(out, data):
    """Whether every file of the seeder's `data` folder is in `out`, byte for byte."""
    for name in os.listdir(data):
        try:
            with open(os.path.join(out, name), "rb") as a, open(os.path.join(data, name), "rb") as b:
                if a.read() != b.read():
                    return False
        except FileNotFoundError:
            return False
    return True


def download_btq(btq, work, torrents, data, hashes, tracker, args):
    env = dict(os.environ, BTQ_DB=os.path.join(work, "btq-downloads.sqlite"))
    out = tempfile.mkdtemp(dir=work, prefix="btq-out-")
    count = len(torrents)
    # TCP, as the libtorrent leecher below: the seeder would otherwise be reached over uTP.
    for key, value in [("max_active_downloads", str(count)), ("max_active_seeds", str(count)), ("dht", "off"),
                       ("dht_bootstrap_nodes", ""), ("enable_utp", "off")]:
        subprocess.run([btq, "config", "set", key, value], env=env, check=True, stdout=subprocess.DEVNULL)
    for i in range(0, count, 500):
        subprocess.run([btq, "add", "--dir", out] + torrents[i : i + 500], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    port = free_port()
    log = open(os.path.join(work, "btq-run-downloads.log"), "w")
    mark = tracker.mark()
    prefix = shlex.split(args.downloads_prefix) if args.downloads_prefix else []
    proc = subprocess.Popen(prefix + [btq, "run", "--port", str(port), "--bind-address", "127.0.0.1"], env=env,
                            stdout=log, stderr=log)
    try:
        done, got, files = wait_all_events(tracker, mark, port, hashes, "completed", proc, args.timeout)
        threads = status(proc.pid, "Threads")
    finally:
        if proc.poll() is None:
            proc.send_signal(2)
        cpu, peak = reap(proc)
        log.close()
    if done is None:
        print("  btq: only %d of %d downloads complete within %d s" % (got, count, args.timeout))
    return {"done": done, "cpu": cpu, "hwm": peak, "files": files, "threads": threads,
            "verified": same_data(out, data)}


def download_libtorrent(work, torrents, args):
    out = tempfile.mkdtemp(dir=work, prefix="lt-out-")
    start = time.monotonic()
    proc = subprocess.Popen([LT_PYTHON, "-c", LEECHER, str(free_port()), out, str(args.timeout)] + torrents,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    finished = []
    reader = threading.Thread(target=lambda: finished.append((proc.stdout.readline(), time.monotonic())))
    reader.start()
    most_files = 0
    while reader.is_alive():
        try:
            most_files = max(most_files, open_files(proc.pid))
        except OSError:
            pass  # exited between two samples
        time.sleep(0.05)
    line, at = finished[0]
    done = at - start if line.startswith("done") else None
    cpu, peak = reap(proc)
    return {"done": done, "cpu": cpu, "hwm": peak, "files": most_files or None, "threads": None}


def run_downloads(btq, count, tracker, announce, args):
    work = tempfile.mkdtemp(prefix="btq-scale-downloads-")
    try:
        torrents, data, hashes = make_torrents(
            work, count, args.download_size, args.download_piece_length, announce, seed=20261205)
        port = free_port()
        mark = tracker.mark()
        seeder = subprocess.Popen([LT_PYTHON, "-c", LT_SEEDER, str(port), data] + torrents,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            seeder.stdout.readline()
            announced, got, _ = wait_all_announced(tracker, mark, port, hashes, seeder, args.timeout)
            if announced is None:
                sys.exit("the seeder announced only %d of %d torrents" % (got, count))
            btq_figures = download_btq(btq, work, torrents, data, hashes, tracker, args)
            lt_figures = None if args.no_libtorrent else download_libtorrent(work, torrents, args)
        finally:
            seeder.kill()
            seeder.wait()
        report_downloads(count, args, btq_figures, lt_figures)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report_downloads(count, args, btq, lt):
    print("\n### %d torrents downloading at once (%d KiB each, %d KiB pieces, from one libtorrent seeder, TCP)\n"
          % (count, args.download_size >> 10, args.download_piece_length >> 10))
    print("| figure | btq | libtorrent | btq / libtorrent |")
    print("|---|---|---|---|")
    rows = [
        ("launch to all complete", "done", fmt_seconds),
        ("CPU time", "cpu", lambda c: "%.2f s" % c),
        ("peak resident memory", "hwm", lambda k: "%.1f MiB" % (k / 1024)),
        ("most open files", "files", str),
    ]
    for label, key, show in rows:
        b, l = btq.get(key), lt.get(key) if lt else None
        print("| %s | %s | %s | %s |" % (
            label, show(b) if b is not None else "—", show(l) if l is not None else "—", ratio(b, l)))
    print("| threads | %s | | |" % btq["threads"])
    print("| btq's data identical to the seeder's | %s | | |" % ("yes" if btq["verified"] else "NO"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--btq", default=".build/release/btq")
    parser.add_argument("--counts", default="100,1000", help="comma-separated numbers of torrents")
    parser.add_argument("--size", type=int, default=64 << 10, help="bytes of data per torrent")
    parser.add_argument("--piece-length", type=int, default=16 << 10)
    parser.add_argument("--idle", type=float, default=20, help="seconds of the idle CPU window")
    parser.add_argument("--leech", type=int, default=50, help="torrents a libtorrent leecher downloads")
    parser.add_argument("--timeout", type=float, default=600, help="seconds any phase may take")
    parser.add_argument(
        "--stale-peers", type=int, default=0,
        help="gone peers the tracker lists for each seeding torrent (refused at once when dialled)")
    parser.add_argument("--no-libtorrent", action="store_true")
    parser.add_argument("--no-transmission", action="store_true")
    parser.add_argument("--max-open-files", type=int, help="btq's max_open_files setting (default: its own)")
    parser.add_argument(
        "--restart-prefix", help="a command the restarted `btq run` runs under, e.g. 'heaptrack -o /tmp/h' or "
        "'perf record -g -e cpu-clock -o /tmp/p.data' (its figures then include the tool's cost)")
    parser.add_argument("--first-prefix", help="the same for the first start's `btq run`")
    parser.add_argument("--downloads", type=int, default=0, help="torrents downloading at once (0: none)")
    parser.add_argument("--download-size", type=int, default=1 << 20, help="bytes per downloaded torrent")
    parser.add_argument("--download-piece-length", type=int, default=64 << 10)
    parser.add_argument("--downloads-prefix", help="the same as --restart-prefix for the downloading `btq run`")
    args = parser.parse_args()
    loopback_namespace.ensure(pid_namespace=True)
    btq = os.path.abspath(args.btq)
    # Announces are spread over this interval; the window measured is far shorter, so each torrent's
    # announces in it are its `started` one.
    tracker = Tracker(interval=1800)
    announce = "http://127.0.0.1:%d/announce" % tracker.port
    print("btq %s; %d bytes per torrent, %d-byte pieces; idle window %.0f s; leecher takes %d torrents; "
          "%d gone peers listed per torrent" % (btq, args.size, args.piece_length, args.idle, args.leech,
                                                args.stale_peers))
    for count in [int(c) for c in args.counts.split(",") if int(c) > 0]:
        work = tempfile.mkdtemp(prefix="btq-scale-bench-")
        try:
            # Torrents of their own for each count: with the first `count` of the last one's again, the
            # tracker would still list the peers of the last count's clients, gone (a killed libtorrent
            # never says `stopped`), and every client here would dial them.
            torrents, data, hashes = make_torrents(
                work, count, args.size, args.piece_length, announce, seed=20261204 + count)
            tracker.add_stale(hashes, args.stale_peers)
            btq_figures = run_btq(btq, work, count, torrents, data, hashes, tracker, args)
            lt_figures = None if args.no_libtorrent else run_libtorrent(work, torrents, data, hashes, tracker, args)
            tr_figures = None if args.no_transmission else run_transmission(
                work, count, torrents, data, hashes, tracker, args)
            report(count, btq_figures, lt_figures, tr_figures)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.downloads > 0:
        run_downloads(btq, args.downloads, tracker, announce, args)


if __name__ == "__main__":
    main()
