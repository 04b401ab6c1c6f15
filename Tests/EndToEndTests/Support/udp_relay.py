#!/usr/bin/python3
"""udp_relay.py -- a lossy UDP forwarder for btq's end-to-end tests (127.0.0.1 only).

  udp_relay.py --port P --target PORT --ready FILE --stats FILE [--drop 0.02] [--reorder 0.02]
               [--seed N] [--timeout S]

Listens on 127.0.0.1:P. The first address that sends to it is the client: its datagrams go to
127.0.0.1:TARGET from one socket of the relay's own, and what comes back on that socket goes to the
client. Each datagram, either way, is dropped with probability --drop, or held back with probability
--reorder and sent after the next datagram in the same direction (or after 50 ms if none comes).
Writes FILE once listening; rewrites --stats (JSON: forwarded, dropped, reordered per direction)
every 0.5 s and at exit. Exits on SIGTERM/SIGINT, after --timeout seconds (default 600), or when its
parent goes away.
"""
import argparse, json, os, random, select, signal, socket, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--drop", type=float, default=0.02)
    ap.add_argument("--reorder", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    parent = os.getppid()

    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", a.port))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind(("127.0.0.1", 0))
    for s in (front, back):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        s.setblocking(False)
    target = ("127.0.0.1", a.target)
    client = None
    stats = {d: {"forwarded": 0, "dropped": 0, "reordered": 0} for d in ("up", "down")}
    held = {"up": None, "down": None}

    def write_stats():
        tmp = a.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, a.stats)

    def send(direction, data):
        sock, dest = (back, target) if direction == "up" else (front, client)
        try:
            sock.sendto(data, dest)
        except OSError:
            pass

    def relay(direction, data):
        st = stats[direction]
        if rng.random() < a.drop:
            st["dropped"] += 1
            return
        if held[direction] is None and rng.random() < a.reorder:
            held[direction] = (data, time.time())
            st["reordered"] += 1
            return
        send(direction, data)
        st["forwarded"] += 1
        if held[direction] is not None:
            send(direction, held[direction][0])
            st["forwarded"] += 1
            held[direction] = None

    with open(a.ready, "w") as f:
        f.write("%d\n" % back.getsockname()[1])
    print("[udp_relay] 127.0.0.1:%d -> 127.0.0.1:%d, drop %.3f, reorder %.3f" % (a.port, a.target, a.drop, a.reorder),
          flush=True)
    t0 = last = time.time()
    while not stop and time.time() - t0 < a.timeout and os.getppid() == parent:
        readable, _, _ = select.select([front, back], [], [], 0.02)
        for s in readable:
            for _ in range(256):
                try:
                    data, source = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if s is front:
                    if client is None:
                        client = source
                    if source != client:
                        continue
                    relay("up", data)
                elif client is not None:
                    relay("down", data)
        now = time.time()
        for direction in ("up", "down"):
            if held[direction] is not None and now - held[direction][1] > 0.05:
                send(direction, held[direction][0])
                stats[direction]["forwarded"] += 1
                held[direction] = None
        if now - last > 0.5:
            last = now
            write_stats()
    write_stats()


main()
