#!/usr/bin/python3
"""swarm_tracker.py -- a minimal HTTP tracker for btq's IPv6 end-to-end tests (loopback only).

  swarm_tracker.py --host ADDR --port P --swarm FILE [--timeout S] [--scrape none|multi|first]

The installed opentracker is built for IPv4 only ("V4 Tracker is V4 only!"), so the IPv6 tests use
this one. It listens on ADDR (127.0.0.1 or ::1) and answers GET /announce: it remembers each peer by
info-hash, with the address its connection came from and the port it announced (`event=stopped`
forgets it), and answers with the other peers of that info-hash, the IPv4 ones compact in `peers`
(BEP 23) and the IPv6 ones compact in `peers6` (BEP 7), interval 5 s. With --scrape it answers
GET /scrape too: `multi` every info_hash asked that it knows (several in one request, BEP 48, as
opentracker does), `first` only the first one asked (as a tracker that reads one `info_hash`, the
lie the multi-hash scrapes of a client must survive); each scrape's number of hashes is appended to
FILE.scrapes (one line each). Anything else gets a bencoded failure reason. FILE (JSON: info-hash hex -> ["ip:port" or "[ip]:port", ...]) is written once
listening and rewritten after each announce. Exits on SIGTERM/SIGINT, after --timeout seconds
(default 600), or when its parent process goes away.
"""
import argparse, http.server, ipaddress, json, os, signal, socket, time
from urllib.parse import unquote_to_bytes

swarms = {}   # info-hash bytes -> {(ip text, port): True}


def bencode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, str):
        return bencode(value.encode())
    if isinstance(value, dict):
        return b"d" + b"".join(bencode(k) + bencode(value[k]) for k in sorted(value)) + b"e"
    raise TypeError(value)


def text(ip, port):
    return "[%s]:%d" % (ip, port) if ":" in ip else "%s:%d" % (ip, port)


def write_swarm(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({h.hex(): [text(ip, port) for ip, port in peers] for h, peers in swarms.items()}, f)
    os.replace(tmp, path)


class Handler(http.server.BaseHTTPRequestHandler):
    swarm_file = None

    def log_message(self, fmt, *args):
        print("[swarm_tracker] " + fmt % args, flush=True)

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    scrape = "none"

    def do_GET(self):
        path, _, query = self.path.partition("?")
        fields = {}
        hashes = []
        for part in query.split("&"):
            key, _, value = part.partition("=")
            fields[key] = unquote_to_bytes(value)
            if key == "info_hash":
                hashes.append(unquote_to_bytes(value))
        if path == "/scrape" and self.scrape != "none":
            with open(self.swarm_file + ".scrapes", "a") as f:
                f.write("%d\n" % len(hashes))
            asked = hashes[:1] if self.scrape == "first" else hashes
            files = {}
            for h in asked:
                if len(h) == 20 and swarms.get(h):
                    files[h] = {"complete": len(swarms[h]), "downloaded": 0, "incomplete": 0}
            self.reply(bencode({"files": files}))
            return
        if path != "/announce" or len(fields.get("info_hash", b"")) != 20 or not fields.get("port", b"").isdigit():
            self.reply(bencode({"failure reason": "not an announce"}))
            return
        ip = ipaddress.ip_address(self.client_address[0].split("%")[0])
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        me = (str(ip), int(fields["port"]))
        peers = swarms.setdefault(fields["info_hash"], {})
        if fields.get("event") == b"stopped":
            peers.pop(me, None)
        else:
            peers[me] = True
        others = [p for p in peers if p != me]
        compact4 = b"".join(ipaddress.ip_address(h).packed + port.to_bytes(2, "big")
                            for h, port in others if ":" not in h)
        compact6 = b"".join(ipaddress.ip_address(h).packed + port.to_bytes(2, "big")
                            for h, port in others if ":" in h)
        self.reply(bencode({"interval": 5, "min interval": 1, "peers": compact4, "peers6": compact6}))
        write_swarm(self.swarm_file)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--swarm", required=True)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--scrape", choices=["none", "multi", "first"], default="none")
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        raise SystemExit("swarm_tracker: loopback addresses only, not %s" % a.host)

    class Server(http.server.HTTPServer):
        address_family = socket.AF_INET6 if ":" in a.host else socket.AF_INET

    Handler.swarm_file = a.swarm
    Handler.scrape = a.scrape
    server = Server((a.host, a.port), Handler)
    server.timeout = 0.2
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    parent = os.getppid()
    write_swarm(a.swarm)
    print("[swarm_tracker] listening on %s" % text(a.host, a.port), flush=True)
    t0 = time.time()
    while not stop and time.time() - t0 < a.timeout and os.getppid() == parent:
        server.handle_request()
    print("[swarm_tracker] exiting", flush=True)


main()
