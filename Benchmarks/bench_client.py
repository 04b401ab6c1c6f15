#!/usr/bin/python3
"""bench_client.py -- run one BitTorrent client for download_bench.sh and measure it.

  bench_client.py run --name NAME --meta DIR --source PATH --downloaded PATH
                      [--done-file F] [--exit-is-done] [--stop-signal INT] [--timeout S] -- COMMAND...
  bench_client.py table RESULT.json...

run:   starts COMMAND under `/usr/bin/time -v` (output to DIR/client.log, time to DIR/time.txt),
       samples the client's VmRSS and RssAnon from /proc every 50 ms, and waits (at most
       --timeout s) until --done-file exists (the client's own completion hook wrote it) or,
       with --exit-is-done, until the client exits with status 0. Then sends --stop-signal to a
       client still running (by pid; SIGKILL after 30 s). Before the signal, every downloaded
       file is synced (fsync) and the time until that ends is the time to durable: btq syncs
       before it reports done, other clients leave the writes in the page cache.
       Writes DIR/result.json: seconds (start to completion), seconds to durable, the whole
       machine's busy CPU seconds from start to durable (/proc/stat: every process and kernel
       thread, the seeder and the kernel's writeback included), wall seconds, user/sys CPU seconds, peak RSS (time -v), peak
       RssAnon (sampled), exit status, done or not, and whether --downloaded is byte-identical
       to --source (a file, or a folder: the same files, each identical).
table: prints the results as a table (MB = 10^6 bytes) and btq's ratios to the fastest
       reference client.
"""
import argparse, json, os, re, signal, subprocess, sys, time


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    return out


def memory(pid):
    """(VmRSS, RssAnon) in KiB of pid and its descendants."""
    rss = anon = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("RssAnon:"):
                        anon += int(line.split()[1])
        except OSError:
            continue
        todo += children_of(p)
    return rss, anon


def machine_busy():
    """CPU seconds the whole machine has been busy (every CPU, kernel threads included) since boot."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def tree_files(root):
    """The files under root (a file: itself), as paths relative to it."""
    if os.path.isfile(root):
        return [""]
    out = []
    for folder, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(folder, n), root) for n in names]
    return sorted(out)


def tree_size(root):
    return sum(os.path.getsize(os.path.join(root, f) if f else root) for f in tree_files(root))


def same_tree(source, downloaded):
    """True when downloaded holds the same files as source (a file or a folder), byte for byte."""
    import filecmp
    if os.path.isfile(source) != os.path.isfile(downloaded) or not os.path.exists(downloaded):
        return False
    names = tree_files(source)
    if names != tree_files(downloaded):
        return False
    for n in names:
        s, d = (os.path.join(source, n), os.path.join(downloaded, n)) if n else (source, downloaded)
        if os.path.getsize(s) != os.path.getsize(d) or not filecmp.cmp(s, d, shallow=False):
            return False
    return True


def run(a):
    os.makedirs(a.meta, exist_ok=True)
    log = open(os.path.join(a.meta, "client.log"), "wb")
    timefile = os.path.join(a.meta, "time.txt")
    t0 = time.time()
    busy0 = machine_busy()
    proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", timefile] + a.command, stdout=log, stderr=subprocess.STDOUT)
    client = None
    peak_rss = peak_anon = 0
    t_done = None
    deadline = t0 + a.timeout
    while time.time() < deadline:
        if client is None:
            kids = children_of(proc.pid)
            client = kids[0] if kids else None
        if client is not None:
            rss, anon = memory(client)
            peak_rss, peak_anon = max(peak_rss, rss), max(peak_anon, anon)
        if a.done_file and os.path.exists(a.done_file):
            t_done = time.time()
            break
        if proc.poll() is not None:
            if a.exit_is_done and proc.returncode == 0:
                t_done = time.time()
            break
        time.sleep(0.05)
    timed_out = t_done is None and proc.poll() is None
    # Time to durable: the downloaded files synced to the device. btq syncs before it reports
    # done, so this adds next to nothing to its time; a client that leaves its data in the page
    # cache pays the writes here. The client is still running (seeding) while its files are synced.
    t_durable = None
    if t_done is not None:
        durable = True
        for n in tree_files(a.downloaded) if os.path.exists(a.downloaded) else []:
            try:
                fd = os.open(os.path.join(a.downloaded, n) if n else a.downloaded, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                durable = False
        t_durable = time.time() if durable else None
    busy_durable = machine_busy() - busy0 if t_durable else None
    if proc.poll() is None and client is not None:
        os.kill(client, signal.Signals["SIG" + a.stop_signal])
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(client, signal.SIGKILL)
            proc.wait(10)
    proc.wait()
    wall = time.time() - t0
    text = open(timefile).read() if os.path.exists(timefile) else ""

    def field(pattern):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else float("nan")

    status = field(r"Exit status: (\d+)")
    same = same_tree(a.source, a.downloaded)
    result = {
        "client": a.name, "done": t_done is not None, "timed_out": timed_out,
        "seconds": (t_done - t0) if t_done else None, "wall": wall,
        "durable_seconds": (t_durable - t0) if t_durable else None,
        "machine_cpu_to_durable": busy_durable,
        "user": field(r"User time \(seconds\): ([\d.]+)"), "sys": field(r"System time \(seconds\): ([\d.]+)"),
        "max_rss_kib": field(r"Maximum resident set size \(kbytes\): (\d+)"),
        "peak_anon_kib": peak_anon, "peak_sampled_rss_kib": peak_rss,
        "exit_status": None if status != status else int(status),
        "bytes": tree_size(a.source), "verify": "OK" if same else "FAIL",
    }
    with open(os.path.join(a.meta, "result.json"), "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


def table(paths):
    """One row per client. With several runs of a client (--rounds), the row is its median run by time
    (a failed run counts as slowest), and the last column lists every run's seconds."""
    runs = {}
    for p in paths:
        r = json.load(open(p))
        ok = r.get("verify") == "OK" and r["done"]
        r["ok_seconds"] = r["seconds"] if ok else None
        runs.setdefault(r["client"], []).append(r)
    several = any(len(v) > 1 for v in runs.values())
    rows = []
    for client, rs in runs.items():
        ordered = sorted(rs, key=lambda r: r["ok_seconds"] if r["ok_seconds"] else float("inf"))
        median = ordered[(len(ordered) - 1) // 2]
        median["all_runs"] = " ".join("%.2f" % r["ok_seconds"] if r["ok_seconds"] else "FAIL" for r in rs)
        rows.append(median)
    fmt = "%-13s %9s %9s %9s %8s %9s %9s %9s  %-8s %s"
    print(fmt % ("client", "seconds", "durable", "MB/s", "CPU s", "machine", "peakRSS", "anonRSS", "verify",
                 "runs (s)" if several else ""))
    print(fmt % ("", "median" if several else "", "s", "", "", "CPU s", "MiB", "MiB", "", ""))
    for r in rows:
        secs = r["ok_seconds"]
        mbps = r["bytes"] / secs / 1e6 if secs else None
        durable = r.get("durable_seconds") if secs else None
        print(fmt % (r["client"], "%.2f" % secs if secs else "-", "%.2f" % durable if durable else "-",
                     "%.1f" % mbps if mbps else "-",
                     "%.2f" % (r["user"] + r["sys"]) if r["user"] == r["user"] else "-",
                     "%.2f" % r["machine_cpu_to_durable"] if durable and r.get("machine_cpu_to_durable") else "-",
                     "%.0f" % (r["max_rss_kib"] / 1024) if r["max_rss_kib"] == r["max_rss_kib"] else "-",
                     "%.0f" % (r["peak_anon_kib"] / 1024) if r["peak_anon_kib"] else "-",
                     r.get("verify", "FAIL") + ("" if r["done"] else " (not complete%s)" % (
                         ", timeout" if r.get("timed_out") else ", exit %s" % r.get("exit_status"))),
                     r["all_runs"] if several else ""))
    refs = [r for r in rows if not r["client"].startswith("btq") and r["ok_seconds"]]
    btq = [r for r in rows if r["client"] == "btq"]
    if btq and refs:
        best = min(refs, key=lambda r: r["ok_seconds"])
        if btq[0]["ok_seconds"]:
            print("\nbtq / fastest reference (%s): %.2fx the time, %.2fx the speed" % (
                best["client"], btq[0]["ok_seconds"] / best["ok_seconds"], best["ok_seconds"] / btq[0]["ok_seconds"]))
        else:
            print("\nbtq: FAIL (no complete, verified download); fastest reference: %s %.2f s" % (
                best["client"], best["ok_seconds"]))
        lt = [r for r in refs if r["client"] == "libtorrent"]
        if btq[0]["ok_seconds"] and lt and lt[0] is not best:
            print("btq / libtorrent: %.2fx the time" % (btq[0]["ok_seconds"] / lt[0]["ok_seconds"]))
        if btq[0]["ok_seconds"] and lt and btq[0].get("durable_seconds") and lt[0].get("durable_seconds"):
            print("btq / libtorrent to durable: %.2fx the time" % (
                btq[0]["durable_seconds"] / lt[0]["durable_seconds"]))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("run")
    r.add_argument("--name", required=True)
    r.add_argument("--meta", required=True)
    r.add_argument("--source", required=True)
    r.add_argument("--downloaded", required=True)
    r.add_argument("--done-file")
    r.add_argument("--exit-is-done", action="store_true")
    r.add_argument("--stop-signal", default="INT")
    r.add_argument("--timeout", type=float, default=600)
    r.add_argument("command", nargs="+")
    t = sub.add_parser("table")
    t.add_argument("results", nargs="+")
    a = ap.parse_args()
    run(a) if a.mode == "run" else table(a.results)


main()
