#!/usr/bin/env python3
"""hostile_swarm.py -- how fast an honest peer is served by btq, and served to it, under attack.

Usage (as root, or a user allowed to make user namespaces):
    Benchmarks/hostile_swarm.py [--btq PATH] [--size-mib N] [--modes a,b,...] [--roles seeding,downloading]
                                [--attack-seconds S] [--rounds N] [--work DIR]

For each role and each mode (``none``, then the misbehaviours of the end-to-end tests'
Support/hostile_peer.py: request-flood, metadata-flood, have-flood, huge-prefix, idle), starts a
fresh btq (a release build; built when --btq is not given), lets the hostile peer attack it, and
times one honest libtorrent transfer of --size-mib MiB (default 256) during the attack:

  seeding      btq seeds (`btq run`, data in place); a libtorrent leecher that knows only btq
               downloads everything from it.
  downloading  btq downloads (`btq run`) from a libtorrent seeder that dials it.

Prints, per case: seconds (the median of --rounds runs, default 3; each run a fresh btq), MiB/s, the
ratio to the same role without attack (``none``), btq's highest resident memory (VmHWM, the most of
any run) and what the hostile peer did in the last run. The hostile peer (Python) runs on the same
machine: on two cores its own CPU time slows the honest transfer too. Runs itself inside a network
namespace whose only interface is lo (`unshare --net --pid --fork --mount-proc`), so nothing can
leave the machine; every program binds 127.0.0.1. Each attack is bounded (--attack-seconds,
default 60, and the hostile peer's own limits).
"""
import loopback_namespace
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SUPPORT = os.path.join(ROOT, "Tests", "EndToEndTests", "Support")
MODES = ["none", "request-flood", "metadata-flood", "have-flood", "huge-prefix", "idle"]
# Connections and source addresses of each attack, as in the end-to-end tests (HostilePeer.Mode).
SHAPE = {
    "request-flood": (4, 1, 4 << 20),
    "metadata-flood": (4, 1, 4 << 20),
    "have-flood": (4, 1, 4 << 20),
    "huge-prefix": (60, 10, 32 << 20),
    "idle": (200, 4, 4 << 20),
}
LT_PYTHON = "/usr/bin/python3"  # python3-libtorrent lives in Debian's dist-packages


def free_port(used=set()):
    import socket

    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in used:
            used.add(port)
            return port


def wait_for(what, condition, timeout, poll=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    raise SystemExit("timed out waiting for %s" % what)


def peak_rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Case:
    """One role and mode: a fresh btq, the attack, and the honest transfer."""

    def __init__(self, args, role, mode, content, torrent, info_hash, pieces):
        self.args, self.role, self.mode = args, role, mode
        self.content, self.torrent, self.info_hash, self.pieces = content, torrent, info_hash, pieces
        self.dir = tempfile.mkdtemp(prefix="%s-%s-" % (role, mode), dir=args.work)
        self.children = []
        self.env = dict(os.environ, BTQ_DB=os.path.join(self.dir, "btq.sqlite"))
        # No DHT node: the attack and the honest transfer are the only traffic.
        self.btq("config", "set", "dht", "off")

    def start(self, name, argv, env=None):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        child = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env or self.env)
        self.children.append(child)
        return child

    def btq(self, *argv):
        subprocess.run([self.args.btq] + list(argv), env=self.env, check=True, stdout=subprocess.DEVNULL)

    def state(self):
        out = subprocess.run(
            [self.args.btq, "info", "1", "--json"], env=self.env, capture_output=True, text=True
        ).stdout
        try:
            return json.loads(out)["state"]
        except (ValueError, KeyError):
            return None

    def run(self):
        port = free_port()
        # Seeding: the data in place; downloading: into a folder of its own.
        save = os.path.dirname(self.content) if self.role == "seeding" else os.path.join(self.dir, "download")
        os.makedirs(save, exist_ok=True)
        self.btq("add", self.torrent, "--dir", save)
        daemon = self.start("btq-run", [self.args.btq, "run", "--port", str(port), "--bind-address", "127.0.0.1"])
        wanted = "seeding" if self.role == "seeding" else "downloading"
        wait_for("btq " + wanted, lambda: self.state() == wanted, 120)
        hostile_stats = None
        if self.mode != "none":
            connections, sources, rate = SHAPE[self.mode]
            ready = os.path.join(self.dir, "ready")
            hostile_stats = os.path.join(self.dir, "stats.json")
            self.start(
                "hostile",
                [
                    sys.executable, os.path.join(SUPPORT, "hostile_peer.py"), "--port", str(port),
                    "--info-hash", self.info_hash, "--pieces", str(self.pieces), "--mode", self.mode,
                    "--ready", ready, "--stats", hostile_stats, "--connections", str(connections),
                    "--sources", str(sources), "--fill", str(1 << 20), "--rate", str(rate),
                    "--duration", str(self.args.attack_seconds),
                ],
            )
            wait_for("the attack", lambda: os.path.exists(ready), 60)
        start = time.monotonic()
        lt_port = free_port()
        if self.role == "seeding":
            out = os.path.join(self.dir, "leecher")
            done = os.path.join(self.dir, "done.json")
            self.start(
                "libtorrent",
                [
                    LT_PYTHON, os.path.join(SUPPORT, "lt_seed.py"), "leech", "--port", str(lt_port), "--out", out,
                    "--done", done, "--timeout", str(self.args.attack_seconds + 60),
                    "--peer", "127.0.0.1:%d" % port, self.torrent,
                ],
            )
            finished = lambda: os.path.exists(done)
        else:
            ready = os.path.join(self.dir, "seed-ready.json")
            self.start(
                "libtorrent",
                [
                    LT_PYTHON, os.path.join(SUPPORT, "lt_seed.py"), "seed", "--port", str(lt_port), "--data",
                    os.path.dirname(self.content), "--ready", ready, "--high-performance",
                    "--timeout", str(self.args.attack_seconds + 60), "--peer", "127.0.0.1:%d" % port, self.torrent,
                ],
            )
            finished = lambda: self.state() == "seeding"
        deadline = start + self.args.attack_seconds
        seconds = None
        while time.monotonic() < deadline:
            if finished():
                seconds = time.monotonic() - start
                break
            time.sleep(0.05)
        rss = peak_rss_mib(daemon.pid)
        stats = ""
        if hostile_stats and os.path.exists(hostile_stats):
            with open(hostile_stats) as f:
                s = json.load(f)
            stats = "%d connects, %d closed by btq, %d messages, %.0f MiB sent" % (
                s["connects"], s["closed"], s["messages_sent"], s["bytes_sent"] / 1048576.0)
        self.stop()
        return seconds, rss, stats

    def stop(self):
        for child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in reversed(self.children):
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--btq")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--roles", default="seeding,downloading")
    parser.add_argument("--attack-seconds", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work")
    parser.add_argument("--keep", action="store_true", help="keep each case's folder and logs")
    args = parser.parse_args()
    loopback_namespace.ensure(pid_namespace=True)
    modes = [m for m in args.modes.split(",") if m]
    if modes[0] != "none":
        modes.insert(0, "none")
    for mode in modes:
        if mode not in MODES:
            raise SystemExit("unknown mode %s (one of %s)" % (mode, ", ".join(MODES)))
    if not args.btq:
        subprocess.run(["swift", "build", "-c", "release", "--product", "btq"], cwd=ROOT, check=True)
        args.btq = os.path.join(ROOT, ".build", "release", "btq")
    args.work = tempfile.mkdtemp(prefix="btq-hostile-swarm-", dir=args.work)
    content = os.path.join(args.work, "data", "hostile.bin")
    os.makedirs(os.path.dirname(content))
    with open(content, "wb") as f:
        for _ in range(args.size_mib):
            f.write(os.urandom(1 << 20))
    torrent = os.path.join(args.work, "hostile.torrent")
    env = dict(os.environ, BTQ_DB=os.path.join(args.work, "create.sqlite"))
    subprocess.run([args.btq, "create", content, "--piece-size", "256K", "-o", torrent], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([args.btq, "add", torrent, "--dir", os.path.dirname(content)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    info = json.loads(subprocess.run([args.btq, "info", "1", "--json"], env=env, capture_output=True,
                                     text=True, check=True).stdout)
    print("btq %s; %d MiB in %d pieces; attacks of %d s at most" % (
        args.btq, args.size_mib, info["piece_count"], args.attack_seconds))
    print("%-12s %-15s %8s %8s %7s %9s  %s" % ("role", "mode", "seconds", "MiB/s", "ratio", "btq peak", "hostile peer"))
    failed = False
    for role in [r for r in args.roles.split(",") if r]:
        baseline = None
        for mode in modes:
            runs = []
            rss = 0.0
            for _ in range(max(1, args.rounds)):
                case = Case(args, role, mode, content, torrent, info["info_hash_v1"], info["piece_count"])
                run_seconds, run_rss, stats = case.run()
                runs.append(run_seconds)
                rss = max(rss, run_rss)
            done = sorted(r for r in runs if r is not None)
            seconds = done[len(done) // 2] if len(done) == len(runs) else None
            if seconds is None:
                failed = True
                print("%-12s %-15s %8s %8s %7s %7.1f M  %s" % (role, mode, "not done", "-", "-", rss, stats),
                      flush=True)
                continue
            if mode == "none":
                baseline = seconds
            ratio = seconds / baseline if baseline else float("nan")
            print("%-12s %-15s %8.2f %8.1f %7.2f %7.1f M  %s" % (
                role, mode, seconds, args.size_mib / seconds, ratio, rss, stats), flush=True)
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
