#!/usr/bin/env python3
"""dht_bench.py -- what btq's DHT node (BEP 5) costs under load: answers per CPU-second, the rate
limit of one address, the routing table's memory, and memory under hostile queries.

Usage (as root, or a user allowed to make user namespaces; run by hand, never by CI):
    Benchmarks/dht_bench.py [--btq PATH] [--port P] [--sources N] [--seconds S] [--in-flight N]
                            [--work DIR] [--keep]

Starts one idle `btq run --port P --bind-address 127.0.0.1` on a fresh database (`dht on`,
`dht_bootstrap_nodes` empty, so its table starts empty), then, from one UDP socket that picks its
source address per packet (IP_PKTINFO: 127.0.x.y, every one of them local on lo):

  1. throughput   valid KRPC queries (ping, find_node, get_peers in turn) from --sources addresses
                  (default 3,000, each far under btq's 20 queries/s per address) as fast as one Python
                  process sends them, at most --in-flight (256) unanswered, for --seconds (10): queries
                  sent, answers, answers/s, btq's CPU seconds (utime+stime of /proc/PID/stat over the
                  window), answers per CPU-second (per core), bytes each way.
  2. rate limit   one address floods pings for 5 s (2,000/s): answers (btq allows a burst of 40, then
                  20/s), btq's RSS before and after.
  3. table        queries from ~2,500 distinct addresses whose sender ids share 0 to 159 leading bits
                  with btq's id (read from `btq dht --json`), 16 per depth, so that the bucket holding
                  btq's id splits towards 160 buckets; the table as btq saves it next (nodes, buckets,
                  replacements), btq's RSS before and after, and an estimate of the table's own memory.
                  Then the throughput of 1. again against the full table: the mix for 5 s, then 3 s
                  of each kind alone (find_node and get_peers answers carry the closest nodes).
  4. hostile      10 s of get_peers for 10,000 random info-hashes and announce_peer with bogus tokens
                  (answered with error 203) from 3,000 addresses: answers, errors, btq's RSS before,
                  after, and 3 s later.

Then stops btq (SIGINT, so it saves) and prints what `btq dht --json` says against what the client
counted, and the datagrams the kernel dropped because a receive buffer was full (/proc/net/snmp of
the namespace; the client's buffer is 8 MiB, so those are btq's). Runs itself inside a network namespace whose only interface is lo (`unshare --net`), so
nothing can leave the machine; everything binds or sends to 127.x.y.z. Bounded: about 80 s in all,
every flood bounded in time, in packets in flight and in rate. The client is one Python process on
the same machine: on two cores it competes with btq, and answers/s may be the client's limit; the
answers per btq CPU-second are not. btq answers at most 500 queries a second from nodes it did not
query itself (1,000 at once; DHTInbound drops the rest before they cost it anything), so answers/s
above that is not expected: the answers per btq CPU-second say what one core could answer.
"""
import loopback_namespace
import argparse
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Sizes in btq's routing table, as MemoryLayout<...>.stride gives them on 64-bit Linux for copies of
# its definitions (NodeID: three integers, 24 B; PeerAddress: an enum Host whose largest payload is a
# String, and a UInt16 port, 24 B; DHTNode 48 B; ContinuousClock.Instant 16 B; failures Int 8 B):
# RoutingTable.Entry is 72 B, RoutingTable.Bucket (two arrays and an Instant) 32 B. An IPv4 host
# holds no heap memory of its own.
ENTRY_STRIDE = 72
BUCKET_STRIDE = 32
# A Swift array's heap header (isa, refcount, count, capacity).
ARRAY_HEADER = 32
# A bucket's arrays at their capacity once full: 8 entries; replacements grow to 9 before the oldest
# is dropped, so their capacity is 16.
ENTRIES_CAPACITY, REPLACEMENTS_CAPACITY = 8, 16


# ---------------------------------------------------------------- btq process


def proc_status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rss(pid):
    return proc_status(pid, "VmRSS")


def udp_counters():
    """The namespace's UDP counters (/proc/net/snmp): datagrams dropped because a socket's receive
    buffer was full (RcvbufErrors), and all receive errors (InErrors)."""
    with open("/proc/net/snmp") as f:
        lines = [line.split() for line in f if line.startswith("Udp:")]
    counters = dict(zip(lines[0][1:], map(int, lines[1][1:])))
    return counters.get("RcvbufErrors", 0), counters.get("InErrors", 0)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Btq:
    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="btq-dht-bench-", dir=args.work)
        self.env = dict(os.environ, BTQ_DB=os.path.join(self.dir, "btq.sqlite"),
                        XDG_DATA_HOME=os.path.join(self.dir, "data"))
        self.process = None

    def cli(self, *argv):
        return subprocess.run([self.args.btq] + list(argv), env=self.env, check=True, capture_output=True,
                              text=True).stdout

    def dht(self):
        try:
            nodes = json.loads(self.cli("dht", "--json"))
        except (subprocess.CalledProcessError, ValueError):
            return None
        return next((n for n in nodes if n.get("family") == "ipv4"), None)

    def start(self):
        self.cli("config", "set", "dht", "on")
        self.cli("config", "set", "dht_bootstrap_nodes", "")
        self.cli("config", "set", "dht_read_only", "off")
        self.log = open(os.path.join(self.dir, "btq-run.log"), "w")
        self.process = subprocess.Popen(
            [self.args.btq, "run", "--port", str(self.args.port), "--bind-address", "127.0.0.1"],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        return self.process.pid

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return "killed after 20 s"

    def alive(self):
        return self.process.poll() is None


# ---------------------------------------------------------------- KRPC by hand


def bstr(b):
    return b"%d:%s" % (len(b), b)


def query(method, sender, t, **args):
    """A KRPC query, bencoded with its keys sorted."""
    body = b"d2:id" + bstr(sender)
    for key in sorted(args):
        value = args[key]
        body += bstr(key.encode()) + (b"i%de" % value if isinstance(value, int) else bstr(value))
    body += b"e"
    return b"d1:a" + body + b"1:q" + bstr(method) + b"1:t" + bstr(t) + b"1:y1:qe"


def decode_answer(data):
    """(transaction, kind) of an answer: kind b"r" or b"e"; None when not a KRPC answer. btq writes
    the keys sorted (ip, r/e, t, v, y), so t is the last `1:t4:` of the packet."""
    if not data.startswith(b"d") or not data.endswith(b"e"):
        return None
    kind = data[-2:-1]
    if data[-7:-2] != b"1:y1:" or kind not in (b"r", b"e"):
        return None
    at = data.rfind(b"1:t4:")
    if at < 0:
        return None
    return data[at + 5:at + 9], kind


def source_addresses(second_octet, count, skip_first=False):
    out = []
    for i in range(count + 1):
        c, d = divmod(i, 254)
        if c > 255:
            break
        address = "127.%d.%d.%d" % (second_octet, c, d + 1)
        if address == "127.0.0.1":
            continue
        out.append(address)
        if len(out) == count:
            break
    return out


class Client:
    """One UDP socket bound to 0.0.0.0 that sends each packet from a source address of its choice
    (IP_PKTINFO) and receives every answer."""

    def __init__(self, port):
        self.dest = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for option in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, option, 8 << 20)
                break
            except OSError:
                continue
        self.sock.bind(("0.0.0.0", 0))
        self.sock.setblocking(False)
        self.pktinfo = {}
        self.next_t = random.randrange(1 << 31)
        self.drained = 0

    def info(self, source):
        ancillary = self.pktinfo.get(source)
        if ancillary is None:
            ancillary = [(socket.IPPROTO_IP, IP_PKTINFO,
                          struct.pack("@i4s4s", 0, socket.inet_aton(source), b"\0" * 4))]
            self.pktinfo[source] = ancillary
        return ancillary

    def transaction(self):
        self.next_t = (self.next_t + 1) & 0xFFFFFFFF
        return struct.pack(">I", self.next_t)

    def drain(self):
        """Discards whatever waits in the socket (answers that came after their flood ended)."""
        while True:
            try:
                self.sock.recv(65536)
                self.drained += 1
            except BlockingIOError:
                return

    def flood(self, make, sources, seconds, in_flight=None, rate=None, total=None, timeout=1.0, grace=0.5):
        """Sends make(i, source, t) from sources in turn for `seconds` (or `total` packets), with at most
        `in_flight` unanswered (a query unanswered for `timeout` counts as lost) and at most `rate` a
        second; then waits up to `grace` for the last answers. Returns the counts."""
        stats = dict(sent=0, answers=0, errors=0, lost=0, late=0, queries_in=0, bytes_out=0, bytes_in=0, send_blocked=0)
        outstanding = {}
        start = time.monotonic()
        end = start + seconds
        last_purge = start
        i = 0
        sock, dest = self.sock, self.dest
        while True:
            now = time.monotonic()
            sending = now < end and (total is None or i < total)
            if not sending and (not outstanding or now >= end + grace):
                break
            if sending:
                allowed = (in_flight - len(outstanding)) if in_flight else 64
                if rate:
                    allowed = min(allowed, int((now - start) * rate) - i)
                if total is not None:
                    allowed = min(allowed, total - i)
                for _ in range(max(0, min(allowed, 64))):
                    source = sources[i % len(sources)]
                    t = self.transaction()
                    packet = make(i, source, t)
                    try:
                        sock.sendmsg([packet], self.info(source), 0, dest)
                    except BlockingIOError:
                        stats["send_blocked"] += 1
                        break
                    outstanding[t] = now
                    stats["sent"] += 1
                    stats["bytes_out"] += len(packet)
                    i += 1
            got = 0
            while True:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    break
                got += 1
                stats["bytes_in"] += len(data)
                answer = decode_answer(data)
                if answer is None:
                    if data.endswith(b"1:y1:qe"):
                        stats["queries_in"] += 1  # btq pinging a node of its table
                    continue
                if outstanding.pop(answer[0], None) is None:
                    stats["late"] += 1
                    continue
                stats["answers" if answer[1] == b"r" else "errors"] += 1
            if now - last_purge >= 0.1:
                last_purge = now
                for t in [t for t, at in outstanding.items() if now - at >= timeout]:
                    del outstanding[t]
                    stats["lost"] += 1
            if got == 0:
                full = in_flight and len(outstanding) >= in_flight
                paced = rate and int((now - start) * rate) - i <= 0
                if full or paced or not sending:
                    select.select([sock], [], [], 0.002)
        stats["lost"] += len(outstanding)
        stats["seconds"] = time.monotonic() - start
        return stats


# ---------------------------------------------------------------- the parts


def mixed_queries(ids, kinds=(0, 1, 2)):
    """ping, find_node, get_peers in turn (or only those of `kinds`), each source with its own sender id."""
    targets = [os.urandom(20) for _ in range(256)]

    def make(i, source, t):
        sender = ids[source]
        kind = kinds[i % len(kinds)]
        if kind == 0:
            return query(b"ping", sender, t)
        if kind == 1:
            return query(b"find_node", sender, t, target=targets[i & 255])
        return query(b"get_peers", sender, t, info_hash=targets[(i >> 2) & 255])

    return make


def throughput(client, pid, sources, ids, seconds, in_flight, kinds=(0, 1, 2)):
    client.drain()
    cpu0, wall0, own0 = cpu_seconds(pid), time.monotonic(), os.times()
    stats = client.flood(mixed_queries(ids, kinds), sources, seconds, in_flight=in_flight)
    cpu1, wall1, own1 = cpu_seconds(pid), time.monotonic(), os.times()
    stats["btq_cpu"] = cpu1 - cpu0
    stats["client_cpu"] = own1.user + own1.system - own0.user - own0.system
    stats["wall"] = wall1 - wall0
    return stats


def id_at_depth(own, depth):
    """A random id sharing exactly `depth` leading bits with `own` (depth < 160)."""
    own_int = int.from_bytes(own, "big")
    rest_bits = 159 - depth
    value = (own_int >> (160 - depth)) << (160 - depth) if depth else 0
    value |= (((own_int >> rest_bits) & 1) ^ 1) << rest_bits
    value |= random.getrandbits(rest_bits) if rest_bits else 0
    return value.to_bytes(20, "big")


def table_of(status):
    buckets = status["buckets"]
    nodes = sum(b["good"] + b["questionable"] for b in buckets)
    replacements = sum(b["replacements"] for b in buckets)
    return len(buckets), nodes, replacements


def wait_for_save(btq, after, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = btq.dht()
        if status and status["saved_at"] != after:
            return status
        time.sleep(0.5)
    return None


def fmt(n, digits=0):
    return ("{:,.%df}" % digits).format(n)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--btq")
    parser.add_argument("--port", type=int, default=16881)
    parser.add_argument("--sources", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--work")
    parser.add_argument("--keep", action="store_true", help="keep the database and btq's log")
    args = parser.parse_args()
    loopback_namespace.ensure(pid_namespace=False)
    if not args.btq:
        subprocess.run(["swift", "build", "-c", "release", "--product", "btq"], cwd=ROOT, check=True)
        args.btq = os.path.join(ROOT, ".build", "release", "btq")
    args.btq = os.path.abspath(args.btq)
    args.sources = max(1, min(args.sources, 4000))  # btq tracks 4,096 addresses for its rate limit

    btq = Btq(args)
    rows = []

    def row(part, what, value):
        rows.append((part, what, value))
        print("  %-12s %-52s %s" % (part, what, value), flush=True)

    udp0 = udp_counters()
    try:
        pid = btq.start()
        client = Client(args.port)
        probe_id = os.urandom(20)
        # Up when it answers a ping.
        deadline = time.monotonic() + 20
        probes = probe_answers = 0
        while True:
            try:
                s = client.flood(lambda i, src, t: query(b"ping", probe_id, t), ["127.0.0.1"], 0.2, total=1,
                                 timeout=0.2, grace=0.2)
            except ConnectionRefusedError:  # the ICMP error of an earlier probe
                continue
            probes += s["sent"]
            probe_answers += s["answers"]
            if s["answers"]:
                break
            if time.monotonic() > deadline or not btq.alive():
                raise SystemExit("btq's DHT node did not answer on 127.0.0.1:%d (see %s)" % (args.port, btq.dir))
        first = wait_for_save(btq, None, 15)
        if first is None:
            raise SystemExit("btq dht --json showed no save within 15 s")
        own = bytes.fromhex(first["node_id"])
        print("btq %s, pid %d, DHT node %s on %s; RSS %.1f MiB at its first save" % (
            args.btq, pid, first["node_id"], first["address"], rss(pid)), flush=True)

        # 1. Throughput.
        sources = source_addresses(0, args.sources)
        ids = {s: os.urandom(20) for s in sources}
        print("\n1. throughput: ping/find_node/get_peers from %d addresses, %d in flight, %g s" % (
            len(sources), args.in_flight, args.seconds), flush=True)
        rss0 = rss(pid)
        t1 = throughput(client, pid, sources, ids, args.seconds, args.in_flight)
        row("throughput", "queries sent", fmt(t1["sent"]))
        row("throughput", "answers received (valid KRPC r)", fmt(t1["answers"]))
        row("throughput", "errors received / lost (unanswered)", "%s / %s" % (fmt(t1["errors"]), fmt(t1["lost"])))
        row("throughput", "answers/s (wall)", fmt(t1["answers"] / t1["wall"]))
        row("throughput", "btq CPU seconds (utime+stime) over %.1f s" % t1["wall"], fmt(t1["btq_cpu"], 2))
        row("throughput", "btq / client cores busy (CPU s / wall s)", "%s / %s" % (
            fmt(t1["btq_cpu"] / t1["wall"], 2), fmt(t1["client_cpu"] / t1["wall"], 2)))
        row("throughput", "answers per btq CPU-second (per core)",
            fmt(t1["answers"] / t1["btq_cpu"]) if t1["btq_cpu"] else "-")
        row("throughput", "bytes out / in (client)", "%s / %s" % (fmt(t1["bytes_out"]), fmt(t1["bytes_in"])))
        row("throughput", "btq RSS before / after (MiB)", "%.1f / %.1f" % (rss0, rss(pid)))

        # 2. One address over its rate.
        print("\n2. rate limit: one address floods pings, 2,000/s for 5 s", flush=True)
        flooder = ["127.0.200.1"]
        flood_id = {flooder[0]: os.urandom(20)}
        rss0 = rss(pid)
        t2 = client.flood(lambda i, src, t: query(b"ping", flood_id[src], t), flooder, 5, rate=2000, timeout=1.0)
        row("rate limit", "pings sent", fmt(t2["sent"]))
        row("rate limit", "answered (btq allows 40 + 20/s x 5 s = 140)", fmt(t2["answers"]))
        row("rate limit", "unanswered (dropped by btq)", fmt(t2["lost"]))
        row("rate limit", "btq RSS before / after (MiB)", "%.1f / %.1f" % (rss0, rss(pid)))

        # 3. Fill the routing table.
        print("\n3. routing table: sender ids at every depth from btq's id", flush=True)
        before = btq.dht()
        b_buckets, b_nodes, b_repl = table_of(before)
        fill_ids = []
        seen = set()
        for depth in range(160):
            for _ in range(16 if depth < 156 else 8):
                node_id = id_at_depth(own, depth)
                if node_id not in seen:
                    seen.add(node_id)
                    fill_ids.append(node_id)
        fill_sources = source_addresses(1, len(fill_ids))
        by_source = dict(zip(fill_sources, fill_ids))
        rss0 = rss(pid)
        t3 = client.flood(lambda i, src, t: query(b"ping", by_source[src], t), fill_sources, 30,
                          in_flight=64, total=len(fill_sources))
        rss_filled = rss(pid)
        filled_at = btq.dht()["saved_at"]
        print("  %d pings with distinct ids from %d addresses: %d answered in %.1f s; waiting for btq's next save"
              % (t3["sent"], len(fill_sources), t3["answers"], t3["seconds"]), flush=True)
        after = wait_for_save(btq, filled_at, 40)
        if after is None:
            raise SystemExit("no save of btq's table within 40 s")
        buckets, nodes, repl = table_of(after)
        # The table's own memory: entries and replacements, the buckets array, each bucket's two arrays.
        entries_bytes = (nodes + repl) * ENTRY_STRIDE
        estimate = ARRAY_HEADER + buckets * (
            BUCKET_STRIDE + 2 * ARRAY_HEADER + (ENTRIES_CAPACITY + REPLACEMENTS_CAPACITY) * ENTRY_STRIDE)
        row("table", "buckets / nodes / replacements at btq's first save (before 1.)", "%d / %d / %d" % (
            b_buckets, b_nodes, b_repl))
        row("table", "buckets / nodes / replacements after", "%d / %d / %d" % (buckets, nodes, repl))
        row("table", "deepest bucket with nodes",
            max((b["depth"] for b in after["buckets"] if b["good"] + b["questionable"]), default=-1))
        row("table", "btq RSS before / after filling (MiB)", "%.1f / %.1f" % (rss0, rss_filled))
        row("table", "table memory: entries x %d B / all arrays at full capacity" % ENTRY_STRIDE,
            "%.0f KiB / %.0f KiB (estimate)" % (entries_bytes / 1024, estimate / 1024))

        print("\n1b. throughput again, against the full table: the mix for 5 s, then 3 s of each kind alone",
              flush=True)
        t1b = throughput(client, pid, sources, ids, 5, args.in_flight)
        row("throughput", "full table, mix: answers/s (wall)", fmt(t1b["answers"] / t1b["wall"]))
        row("throughput", "full table, mix: btq / client CPU s over %.1f s" % t1b["wall"], "%s / %s" % (
            fmt(t1b["btq_cpu"], 2), fmt(t1b["client_cpu"], 2)))
        row("throughput", "full table, mix: answers per btq CPU-second",
            fmt(t1b["answers"] / t1b["btq_cpu"]) if t1b["btq_cpu"] else "-")
        row("throughput", "full table, mix: lost (unanswered)", fmt(t1b["lost"]))
        singles = []
        for kind, name in ((0, "ping"), (1, "find_node"), (2, "get_peers")):
            t = throughput(client, pid, sources, ids, 3, args.in_flight, kinds=(kind,))
            singles.append(t)
            row("throughput", "full table, %s only: answers/s; per btq CPU-s" % name, "%s; %s" % (
                fmt(t["answers"] / t["wall"]), fmt(t["answers"] / t["btq_cpu"]) if t["btq_cpu"] else "-"))

        # 4. Hostile queries.
        print("\n4. hostile: get_peers for 10,000 random info-hashes and announce_peer with bogus tokens, 10 s",
              flush=True)
        hashes = [os.urandom(20) for _ in range(10000)]
        hostile_sources = source_addresses(2, 3000)
        hostile_ids = {s: os.urandom(20) for s in hostile_sources}

        def hostile(i, source, t):
            info_hash = hashes[i % len(hashes)]
            if i & 1:
                return query(b"announce_peer", hostile_ids[source], t, info_hash=info_hash, port=6881,
                             token=os.urandom(8), implied_port=0)
            return query(b"get_peers", hostile_ids[source], t, info_hash=info_hash)

        client.drain()
        rss0 = rss(pid)
        cpu0 = cpu_seconds(pid)
        t4 = client.flood(hostile, hostile_sources, 10, in_flight=args.in_flight)
        cpu4 = cpu_seconds(pid) - cpu0
        rss_after = rss(pid)
        time.sleep(3)
        row("hostile", "queries sent (half get_peers, half announce_peer)", fmt(t4["sent"]))
        row("hostile", "answers (r) / errors (e) / lost", "%s / %s / %s" % (
            fmt(t4["answers"]), fmt(t4["errors"]), fmt(t4["lost"])))
        row("hostile", "answered per s / per btq CPU-second", "%s / %s" % (
            fmt((t4["answers"] + t4["errors"]) / t4["seconds"]),
            fmt((t4["answers"] + t4["errors"]) / cpu4) if cpu4 else "-"))
        row("hostile", "btq RSS before / after / 3 s later (MiB)", "%.1f / %.1f / %.1f" % (
            rss0, rss_after, rss(pid)))
        row("all", "btq peak RSS (VmHWM, MiB)", "%.1f" % proc_status(pid, "VmHWM"))

        # Stop, and compare with what btq saved at its stop.
        code = btq.stop()
        final = btq.dht()
        print("\nbtq stopped (exit %s); `btq dht --json` at its stop:" % code, flush=True)
        client.drain()
        parts = [t1, t2, t3, t1b, t4] + singles
        sent = sum(t["sent"] for t in parts) + probes
        got = sum(t["answers"] + t["errors"] for t in parts) + probe_answers
        late = sum(t["late"] for t in parts) + client.drained
        btq_queries = sum(t["queries_in"] for t in parts)
        if final:
            fb, fn, fr = table_of(final)
            row("btq dht", "packets in (client sent %s)" % fmt(sent), fmt(final["packets_in"]))
            row("btq dht", "packets out (client: %s answers, %s after their flood, %s queries)" % (
                fmt(got), fmt(late), fmt(btq_queries)), fmt(final["packets_out"]))
            udp = udp_counters()
            row("btq dht", "UDP datagrams dropped by the kernel, receive buffer full",
                "%s (all receive errors %s)" % (fmt(udp[0] - udp0[0]), fmt(udp[1] - udp0[1])))
            row("btq dht", "queries answered / dropped", "%s / %s" % (
                fmt(final["queries_answered"]), fmt(final["queries_dropped"])))
            row("btq dht", "bytes in / out", "%s / %s" % (fmt(final["bytes_in"]), fmt(final["bytes_out"])))
            row("btq dht", "buckets / nodes / replacements; torrents, peers", "%d / %d / %d; %d, %d" % (
                fb, fn, fr, final["torrents"], final["peers"]))
        else:
            print("  (no state saved)")
    finally:
        btq.stop()
        if args.keep:
            print("kept %s" % btq.dir)
        else:
            shutil.rmtree(btq.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
