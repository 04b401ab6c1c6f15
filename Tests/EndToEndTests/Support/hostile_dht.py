#!/usr/bin/python3
"""hostile_dht.py -- a lying, flooding DHT node for btq's end-to-end tests (127.0.0.0/8 only).

  hostile_dht.py --port P --ready FILE [--target HOST:PORT --seconds S --rate N] [--status FILE]

Listens on 127.0.0.9:P and answers every query with lies: its id is the querier's own id (the
node claims to be you) or one very close to the target, 150 made-up nodes near the target that
do not exist (127.1.x.y), 600 made-up peers (127.2.x.y) and a random token.
With --target it also floods that node for S seconds, at most N packets a second in all, from
200 addresses (127.0.3.1 ..): pings, find_node and get_peers for random targets, announce_peer
with forged tokens, and garbage: random bytes, 5,000-byte packets, bencode nested 500 deep,
answers to queries never made. --status FILE gets the counts (JSON) at the end.
Exits after S seconds (default 30), on SIGTERM, or when its parent goes away.
"""
import argparse, json, os, random, select, signal, socket, sys, time
import libtorrent as lt


def bencode(value):
    return bytes(lt.bencode(value))


def lie(query_bytes, rng):
    try:
        q = lt.bdecode(query_bytes)
    except Exception:
        return None
    if not isinstance(q, dict) or q.get(b"y") != b"q":
        return None
    args = q.get(b"a", {})
    them = args.get(b"id", os.urandom(20))
    target = args.get(b"target") or args.get(b"info_hash") or os.urandom(20)
    me = them if rng.random() < 0.5 else target[:19] + bytes([target[19] ^ 1])
    nodes = b"".join(
        target[:16] + os.urandom(4) + bytes([127, 1, rng.randrange(256), rng.randrange(1, 255)]) + b"\x1a\xe1"
        for _ in range(150))
    values = [bytes([127, 2, rng.randrange(256), rng.randrange(1, 255)]) + b"\x1a\xe1" for _ in range(600)]
    reply = {b"t": q.get(b"t", b"xx"), b"y": b"r",
             b"r": {b"id": me, b"nodes": nodes, b"values": values, b"token": os.urandom(20)}}
    return bencode(reply)


def flood_packet(rng):
    kind = rng.randrange(8)
    tid = os.urandom(2)
    if kind == 0:
        return bencode({b"t": tid, b"y": b"q", b"q": b"ping", b"a": {b"id": os.urandom(20)}})
    if kind == 1:
        return bencode({b"t": tid, b"y": b"q", b"q": b"find_node",
                        b"a": {b"id": os.urandom(20), b"target": os.urandom(20)}})
    if kind == 2:
        return bencode({b"t": tid, b"y": b"q", b"q": b"get_peers",
                        b"a": {b"id": os.urandom(20), b"info_hash": os.urandom(20)}})
    if kind == 3:
        return bencode({b"t": tid, b"y": b"q", b"q": b"announce_peer",
                        b"a": {b"id": os.urandom(20), b"info_hash": os.urandom(20), b"port": 6881,
                               b"token": os.urandom(8)}})
    if kind == 4:
        return os.urandom(rng.randrange(1, 1400))
    if kind == 5:
        return b"d1:t2:aa1:y1:r1:rd2:id20:" + os.urandom(20) + b"5:nodes" + b"4900:" + os.urandom(4900) + b"ee"
    if kind == 6:
        return b"l" * 500 + b"e" * 500
    return bencode({b"t": tid, b"y": b"r", b"r": {b"id": os.urandom(20), b"nodes": os.urandom(26 * 64)}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--target")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=int, default=4000)
    ap.add_argument("--status")
    a = ap.parse_args()
    parent = os.getppid()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    rng = random.Random(12)
    liar = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    liar.bind(("127.0.0.9", a.port))
    flooders = []
    target = None
    if a.target:
        host, port = a.target.rsplit(":", 1)
        target = (host, int(port))
        for i in range(200):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.3.%d" % (i + 1), 0))
            s.setblocking(False)
            flooders.append(s)
    with open(a.ready, "w") as f:
        json.dump({"node": "127.0.0.9:%d" % a.port}, f)
    counts = {"lies": 0, "flood_sent": 0, "flood_answers": 0}
    started = time.time()
    sent_this_second, second = 0, int(started)
    while not stop and time.time() - started < a.seconds and os.getppid() == parent:
        readable, _, _ = select.select([liar] + flooders, [], [], 0.001)
        for s in readable:
            try:
                data, peer = s.recvfrom(65536)
            except BlockingIOError:
                continue
            if s is liar:
                reply = lie(data, rng)
                if reply:
                    liar.sendto(reply, peer)
                    counts["lies"] += 1
            else:
                counts["flood_answers"] += 1
        if target:
            now = int(time.time())
            if now != second:
                second, sent_this_second = now, 0
            burst = min(50, a.rate - sent_this_second)
            for _ in range(max(0, burst)):
                try:
                    rng.choice(flooders).sendto(flood_packet(rng), target)
                    counts["flood_sent"] += 1
                    sent_this_second += 1
                except (BlockingIOError, OSError):
                    break
    if a.status:
        with open(a.status, "w") as f:
            json.dump(counts, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
