#!/usr/bin/python3
"""utp_flood.py -- hostile uTP datagrams at a btq listen port, for btq's end-to-end tests (127.0.0.1 only).

  utp_flood.py --target PORT --seconds S --out FILE [--rate N]

From one UDP socket on 127.0.0.1, for S seconds at about N datagrams per second (default 20000):
a quarter are ST_SYNs with random connection ids (a SYN flood from one address), a quarter garbage
(random bytes of random length, any first byte), a quarter well-formed ST_DATA / ST_STATE / ST_FIN
packets with random ids, sequence numbers, windows and extension chains, and a quarter lies about
btq's read-limit extension (type 0x62): a SYN saying it reads 0, 1, 65,535 or any number of bytes, or
the extension at another length, then an ST_DATA of up to 60,000 bytes on the connection it opened.
Counts what came back (ST_STATE answers to SYNs, those of them that told their read limit, ST_RESETs).
Writes FILE (JSON) at the end.
"""
import argparse, json, os, random, socket, struct, time


def header(kind, conn, seq, ack, wnd, ext=0):
    now = int(time.time() * 1e6) & 0xFFFFFFFF
    return struct.pack(">BBHIIIHH", (kind << 4) | 1, ext, conn, now, 0, wnd, seq, ack)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rate", type=int, default=20000)
    a = ap.parse_args()
    rng = random.Random(7)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setblocking(False)
    dest = ("127.0.0.1", a.target)
    sent = {"syn": 0, "garbage": 0, "packets": 0, "lies": 0}
    back = {"state": 0, "told": 0, "reset": 0, "other": 0}
    t0 = time.time()
    batch = max(1, a.rate // 100)
    while time.time() - t0 < a.seconds:
        tick = time.time()
        for i in range(batch):
            which = rng.randrange(4)
            if which == 3:
                conn, seq = rng.randrange(65536), rng.randrange(65536)
                length = rng.choice([2, 2, 2, 0, 1, 3, 8])
                limit = rng.choice([0, 1, 1400, 65535, rng.randrange(65536)])
                ext = bytes([0, length]) + (struct.pack(">H", limit) + bytes(8))[:length]
                syn = header(4, conn, seq, 0, 1 << 20, 0x62) + ext
                big = header(0, (conn + 1) & 0xFFFF, (seq + 1) & 0xFFFF, 0, 1 << 20) + rng.randbytes(
                    rng.choice([0, 4096, 16384, 60000]))
                for data in (syn, big):
                    try:
                        s.sendto(data, dest)
                    except OSError:
                        pass
                sent["lies"] += 1
                continue
            if which == 0:
                data = header(4, rng.randrange(65536), rng.randrange(65536), 0, rng.randrange(1 << 20))
                sent["syn"] += 1
            elif which == 1:
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
                sent["garbage"] += 1
            else:
                kind = rng.choice([0, 1, 2])
                ext = rng.choice([0, 1, 2, 77])
                body = b""
                if ext:
                    # An extension chain: kind, length, bytes (lengths sometimes past the end).
                    for _ in range(rng.randrange(1, 12)):
                        n = rng.choice([4, 8, 32, 255, 0, 3])
                        body += bytes([rng.choice([0, 1, 2, 9]), n]) + bytes(rng.randrange(256) for _ in range(min(n, 8)))
                body += bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
                data = header(kind, rng.randrange(65536), rng.randrange(65536), rng.randrange(65536),
                              rng.choice([0, 1, 0xFFFFFFFF, rng.randrange(1 << 32)]), ext) + body
                sent["packets"] += 1
            try:
                s.sendto(data, dest)
            except OSError:
                pass
        for _ in range(1000):
            try:
                data = s.recv(2048)
            except BlockingIOError:
                break
            kind = data[0] >> 4 if data else -1
            back["state" if kind == 2 else "reset" if kind == 3 else "other"] += 1
            if kind == 2 and len(data) >= 24 and data[1] == 0x62:
                back["told"] += 1
        spare = 0.01 - (time.time() - tick)
        if spare > 0:
            time.sleep(spare)
    with open(a.out, "w") as f:
        json.dump({"sent": sent, "received": back, "seconds": time.time() - t0}, f)
    print("[utp_flood] sent %s, got back %s" % (sent, back), flush=True)


main()
