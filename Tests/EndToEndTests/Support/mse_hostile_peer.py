#!/usr/bin/python3
"""mse_hostile_peer.py -- a peer that misbehaves in the MSE/PE handshake, for btq's end-to-end tests
(127.0.0.1 and ::1 only).

  mse_hostile_peer.py --target HOST:PORT --mode MODE --out FILE [--info-hash HEX] [--connections N]
                      [--wait S]

Modes (each connection is timed from its first byte sent until btq closes it):
  garbage     a 96-byte "key" of random bytes, then 64 KiB of garbage in which no synchronisation hash
              can be found
  stall       40 bytes of a key, then silence
  stall-key   a whole key and 100 bytes of padding, then silence (btq answers with its key and waits)
  bad-padc    a real key exchange for the torrent --info-hash, then encrypted fields announcing a
              PadC of 65535 bytes (the limit is 512)
  bad-vc      a real key exchange, then a verification constant that is not zero
  plaintext   a plaintext BitTorrent handshake for --info-hash (refused when btq requires encryption)
  flood       --connections connections at once, each sending a whole key and stalling
Writes FILE (JSON): the mode, per connection the seconds until btq closed it (null if it had not
within --wait seconds, default 30) and the bytes btq sent, and for a real key exchange whether btq
answered with a valid key. Each loop is bounded in connections, bytes and time.
"""
import argparse, hashlib, json, os, select, socket, sys, time

P = int("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563", 16)


def sha1(*parts):
    h = hashlib.sha1()
    for p in parts:
        h.update(p)
    return h.digest()


class RC4:
    def __init__(self, key):
        s = list(range(256))
        j = 0
        for i in range(256):
            j = (j + s[i] + key[i % len(key)]) & 255
            s[i], s[j] = s[j], s[i]
        self.s, self.i, self.j = s, 0, 0
        self.crypt(bytes(1024))

    def crypt(self, data):
        s, i, j = self.s, self.i, self.j
        out = bytearray(len(data))
        for n, b in enumerate(data):
            i = (i + 1) & 255
            j = (j + s[i]) & 255
            s[i], s[j] = s[j], s[i]
            out[n] = b ^ s[(s[i] + s[j]) & 255]
        self.i, self.j = i, j
        return bytes(out)


def connect(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if host not in ("127.0.0.1", "::1"):
        sys.exit("mse_hostile_peer: loopback only, not %s" % host)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect((host, port))
    sock.setblocking(False)
    return sock


def read_exactly(sock, n, deadline):
    data = b""
    while len(data) < n and time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.2)
        if r:
            chunk = sock.recv(n - len(data))
            if not chunk:
                break
            data += chunk
    return data


def send_all(sock, data, deadline):
    view = memoryview(data)
    while view and time.monotonic() < deadline:
        _, w, _ = select.select([], [sock], [], 0.2)
        if w:
            try:
                n = sock.send(view)
            except (BrokenPipeError, ConnectionResetError, OSError):
                return False
            view = view[n:]
    return not view


def key_exchange(sock, info_hash, start):
    x = int.from_bytes(os.urandom(20), "big")
    ya = pow(2, x, P).to_bytes(96, "big")
    send_all(sock, ya + os.urandom(50), start + 5)
    yb = read_exactly(sock, 96, start + 5)
    if len(yb) != 96:
        return None
    s = pow(int.from_bytes(yb, "big"), x, P).to_bytes(96, "big")
    key_a = RC4(sha1(b"keyA", s, info_hash))
    head = sha1(b"req1", s) + bytes(a ^ b for a, b in zip(sha1(b"req2", info_hash), sha1(b"req3", s)))
    return head, key_a


def one(a, host, port):
    start = time.monotonic()
    sock = connect(host, port)
    info = {"answered_key": None}
    if a.mode == "garbage":
        send_all(sock, os.urandom(96) + bytes([0x5A]) * 65536, start + 5)
    elif a.mode == "stall":
        send_all(sock, os.urandom(40), start + 5)
    elif a.mode in ("stall-key", "flood"):
        x = int.from_bytes(os.urandom(20), "big")
        send_all(sock, pow(2, x, P).to_bytes(96, "big") + os.urandom(100), start + 5)
    elif a.mode in ("bad-padc", "bad-vc"):
        exchanged = key_exchange(sock, bytes.fromhex(a.info_hash), start)
        info["answered_key"] = exchanged is not None
        if exchanged:
            head, key_a = exchanged
            vc = bytes(8) if a.mode == "bad-padc" else bytes([0, 0, 0, 0, 0, 0, 0, 1])
            padc = 65535 if a.mode == "bad-padc" else 0
            fields = vc + (3).to_bytes(4, "big") + padc.to_bytes(2, "big")
            send_all(sock, head + key_a.crypt(fields + bytes(min(padc, 4096))), start + 5)
    elif a.mode == "plaintext":
        handshake = b"\x13BitTorrent protocol" + bytes(8) + bytes.fromhex(a.info_hash) + b"-XX0001-" + os.urandom(12)
        send_all(sock, handshake, start + 5)
    return sock, start, info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--mode", required=True,
                    choices=["garbage", "stall", "stall-key", "bad-padc", "bad-vc", "plaintext", "flood"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--info-hash", default="00" * 20)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--wait", type=float, default=30)
    a = ap.parse_args()
    host, _, port = a.target.rpartition(":")
    host = host.strip("[]")
    count = max(1, min(a.connections, 500))
    results, pending = [], {}

    def watch(timeout):
        """Times the closes of the connections open so far (each when it is seen, so a connection
        btq closes at accept is timed as such even while the others are still being opened)."""
        if not pending:
            return
        readable, _, _ = select.select(list(pending), [], [], timeout)
        for sock in readable:
            i, start = pending[sock]
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                results[i]["received"] += len(chunk)
                continue
            results[i]["closed_after"] = time.monotonic() - start
            del pending[sock]
            sock.close()

    for _ in range(count):
        try:
            sock, start, info = one(a, host, int(port))
        except OSError as e:
            sock, start, info = None, time.monotonic(), {"error": str(e)}
        results.append(dict(info, closed_after=(0.0 if sock is None else None), received=0))
        if sock is not None:
            pending[sock] = (len(results) - 1, start)
        watch(0)
    # Every connection watched at once, so each close is timed when it happens.
    deadline = time.monotonic() + a.wait
    while pending and time.monotonic() < deadline:
        watch(0.2)
    for sock in pending:
        sock.close()
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"mode": a.mode, "connections": results}, f)
    os.replace(tmp, a.out)
    print("[mse_hostile_peer] %s: %s" % (a.mode, [r["closed_after"] for r in results][:20]), flush=True)


if __name__ == "__main__":
    main()
