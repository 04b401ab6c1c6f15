#!/usr/bin/env python3
"""corrupt_peer.py -- a BitTorrent peer that serves wrong bytes, for btq's end-to-end tests.

  corrupt_peer.py --port P --torrent T --data DIR --ready FILE [--stats FILE]
                  [--corrupt-mod 3] [--corrupt-rem 0] [--corrupt-once-after N] [--block-delay S]
                  [--hashes MODE] [--timeout 600]

Listens on 127.0.0.1:P only (standard library, no other dependency). For each incoming
connection: reads the BitTorrent handshake (BEP 3) and drops it unless the info-hash is
T's, answers with its own handshake (no reserved bits: no Fast or extension protocol),
sends a bitfield with every piece, unchokes on `interested`, and answers each `request`
with the real bytes read from DIR (T's save path), except that every block of a piece
whose index % MOD == REM has all its bytes inverted. Other messages are read and ignored.
v1, hybrid (BEP 47 pad files read as zeros) and v2-only torrents (BEP 52: the handshake carries
the SHA-256 info-hash truncated to 20 bytes; the files of the `file tree`, in its order, each start
on a piece boundary, the gaps read as zeros).

--corrupt-once-after N replaces the rule above: the blocks it sends are all right but one, the first
block starting a piece whose data goes on past that block, sent after N right ones, is inverted; it
then chokes that peer for good (its other requests dropped: the rest of that piece comes from other
peers), and still answers hash requests. --block-delay
S paces it: it waits S seconds before sending each block (a slow peer, whose blocks land in pieces
others send too). A v2 or hybrid torrent's handshake sets the v2 upgrade bit (BEP 52).

--hashes honest answers each BEP 52 `hash request` for the block layer (base layer 0, no uncles
needed) of a v2 file with the true leaves (the SHA-256 of each 16 KiB block of the file, zeros past
its end), and any other with `hash reject`.

--hashes MODE (lie or oversized) makes it a v2 peer that serves the metadata and lies about the
merkle tree: its handshake sets the extension protocol bit, it sends an extension handshake with
ut_metadata and metadata_size, answers ut_metadata requests with T's info dictionary, and answers
each BEP 52 `hash request` with a `hashes` message that is wrong: `lie` gives as many hashes as the
request calls for (libtorrent's count: length, then proof layers - log2(length) + 1 uncles), random;
`oversized` gives length + proof layers + 5 of them, more than any answer may hold.

Writes FILE (--ready) once listening; --stats FILE is rewritten (atomically) after every
change with JSON: connections, handshakes, good_blocks, corrupt_blocks, hash_requests, hashes_sent,
metadata_pieces, peer_ids (hex).
Exits on SIGTERM/SIGINT, after --timeout seconds, or when its parent process goes away.
"""
import argparse, hashlib, json, os, re, signal, socket, struct, sys, threading, time

MAX_BLOCK = 128 * 1024
MAX_FRAME = 1 << 20


def bdecode(data, i=0):
    """Decodes one bencoded value at i; returns (value, end). Byte strings stay bytes."""
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        i += 1
        out = []
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            v, i = bdecode(data, i)
            out[k] = v
        return out, i + 1
    if c.isdigit():
        colon = data.index(b":", i)
        n = int(data[i:colon])
        return data[colon + 1:colon + 1 + n], colon + 1 + n
    raise ValueError("bad bencode at %d" % i)


def info_span(data):
    """Start and end offsets of the raw `info` value in a torrent file (hashed as is)."""
    assert data[:1] == b"d"
    i = 1
    while data[i:i + 1] != b"e":
        k, i = bdecode(data, i)
        start = i
        _, i = bdecode(data, i)
        if k == b"info":
            return start, i
    raise ValueError("no info dictionary")


class Torrent:
    def __init__(self, path, data_dir):
        raw = open(path, "rb").read()
        start, end = info_span(raw)
        self.info_hash = hashlib.sha1(raw[start:end]).digest()
        self.info = raw[start:end]
        info, _ = bdecode(raw[start:end])
        self.piece_length = info[b"piece length"]
        name = info[b"name"].decode()
        self.files = []     # (offset, length, path or None for a pad file)
        self.roots = {}     # v2 `pieces root` -> (length, path)
        self.v2 = b"file tree" in info
        offset = 0
        if b"pieces" not in info:
            # v2-only: every file on a piece boundary.
            self.info_hash = hashlib.sha256(raw[start:end]).digest()[:20]
            tree = info[b"file tree"]
            single = len(tree) == 1 and b"" in next(iter(tree.values()))

            def walk(node, parts):
                nonlocal offset
                for key in sorted(node):
                    child = node[key]
                    if b"" in child:
                        length = child[b""][b"length"]
                        rel = name if single else os.path.join(name, *parts, key.decode())
                        self.files.append((offset, length, os.path.join(data_dir, rel)))
                        if b"pieces root" in child[b""]:
                            self.roots[child[b""][b"pieces root"]] = (length, os.path.join(data_dir, rel))
                        pad = 0 if single else -length % self.piece_length
                        if pad:
                            self.files.append((offset + length, pad, None))
                        offset += length + pad
                    else:
                        walk(child, parts + [key.decode()])
            walk(tree, [])
        elif b"files" in info:
            if self.v2:
                self.collect_roots(info[b"file tree"], [name], data_dir)
            for f in info[b"files"]:
                rel = os.path.join(name, *[p.decode() for p in f[b"path"]])
                pad = b"p" in f.get(b"attr", b"")
                self.files.append((offset, f[b"length"], None if pad else os.path.join(data_dir, rel)))
                offset += f[b"length"]
        else:
            self.files.append((0, info[b"length"], os.path.join(data_dir, name)))
            offset = info[b"length"]
        self.total = offset
        self.piece_count = -(-offset // self.piece_length)
        self.lock = threading.Lock()

    def collect_roots(self, node, parts, data_dir):
        """The `pieces root` of each file of a hybrid's `file tree`."""
        for key, child in node.items():
            if b"" in child:
                if b"pieces root" in child[b""]:
                    path = os.path.join(data_dir, *parts, key.decode())
                    self.roots[child[b""][b"pieces root"]] = (child[b""][b"length"], path)
            else:
                self.collect_roots(child, parts + [key.decode()], data_dir)

    def has_data(self, index, begin, length):
        """True when the range holds bytes of a file (not only pad)."""
        start = index * self.piece_length + begin
        return any(path is not None and max(start, off) < min(start + length, off + size)
                   for off, size, path in self.files)

    def leaves(self, root, index, count):
        """The SHA-256 leaves index..index+count of the file whose `pieces root` is root, or None."""
        if root not in self.roots:
            return None
        length, path = self.roots[root]
        out = bytearray()
        with open(path, "rb") as f:
            for i in range(index, index + count):
                off = i * 16384
                if off < length:
                    f.seek(off)
                    out += hashlib.sha256(f.read(min(16384, length - off))).digest()
                else:
                    out += bytes(32)
        return bytes(out)

    def read(self, index, begin, length):
        start = index * self.piece_length + begin
        if begin < 0 or length <= 0 or length > MAX_BLOCK or begin + length > self.piece_length \
                or start + length > self.total or index >= self.piece_count:
            return None
        out = bytearray()
        for off, size, path in self.files:
            lo, hi = max(start, off), min(start + length, off + size)
            if lo >= hi:
                continue
            if path is None:
                out += bytes(hi - lo)
            else:
                with open(path, "rb") as f:
                    f.seek(lo - off)
                    out += f.read(hi - lo)
        return bytes(out)


class Stats:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.value = {"connections": 0, "handshakes": 0, "good_blocks": 0, "corrupt_blocks": 0, "hash_requests": 0,
                      "hashes_sent": 0, "metadata_pieces": 0, "peer_ids": []}

    def bump(self, key, peer_id=None):
        with self.lock:
            if key:
                self.value[key] += 1
            if peer_id is not None and peer_id not in self.value["peer_ids"]:
                self.value["peer_ids"].append(peer_id)
            if self.path:
                tmp = self.path + ".tmp.%d" % threading.get_ident()
                with open(tmp, "w") as f:
                    json.dump(self.value, f)
                os.replace(tmp, self.path)


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return bytes(buf)


def hash_answer(msg, mode, torrent):
    """A `hashes` message answering the `hash request` `msg` (id byte included): wrong, or for
    `honest` the true leaves of the block layer (a `hash reject` for what it cannot answer)."""
    header = msg[1:49]
    base, index, length, proofs = struct.unpack(">IIII", header[32:48])
    if mode == "honest":
        uncles = max(0, proofs - (length.bit_length() - 1) + 1)
        leaves = torrent.leaves(header[:32], index, length) if base == 0 and uncles == 0 and length <= 8192 else None
        if leaves is None:
            return struct.pack(">IB", 1 + len(header), 23) + header
        return struct.pack(">IB", 1 + len(header) + len(leaves), 22) + header + leaves
    if mode == "oversized":
        count = length + proofs + 5
    else:
        count = length + max(0, proofs - (length.bit_length() - 1) + 1)
    payload = header + os.urandom(32 * count)
    return struct.pack(">IB", 1 + len(payload), 22) + payload


class Once:
    """Which block is the one corrupted under --corrupt-once-after (shared by all connections)."""
    def __init__(self, after):
        self.after = after
        self.sent = 0
        self.done = False
        self.lock = threading.Lock()

    def corrupt(self, torrent, index, begin, size):
        with self.lock:
            self.sent += 1
            if self.done or self.sent <= self.after or begin != 0 or not torrent.has_data(index, 16384, 16384):
                return False
            self.done = True
            return True


def serve(conn, torrent, stats, mod, rem, my_id, hashes, once, delay):
    stats.bump("connections")
    try:
        conn.settimeout(120)
        hs = recv_exact(conn, 68)
        if hs[0] != 19 or hs[1:20] != b"BitTorrent protocol" or hs[28:48] != torrent.info_hash:
            return
        stats.bump("handshakes", hs[48:68].hex())
        reserved = bytes([0, 0, 0, 0, 0, 0x10 if hashes else 0, 0, 0x10 if hashes or torrent.v2 else 0])
        conn.sendall(b"\x13BitTorrent protocol" + reserved + torrent.info_hash + my_id)
        bits = bytearray((torrent.piece_count + 7) // 8)
        for i in range(torrent.piece_count):
            bits[i // 8] |= 0x80 >> (i % 8)
        conn.sendall(struct.pack(">IB", 1 + len(bits), 5) + bits)
        their_metadata_id = 2
        if hashes:
            ours = b"d1:md11:ut_metadatai3ee13:metadata_sizei%dee" % len(torrent.info)
            conn.sendall(struct.pack(">IBB", 2 + len(ours), 20, 0) + ours)
        unchoked = False
        choked_for_good = False
        while True:
            (length,) = struct.unpack(">I", recv_exact(conn, 4))
            if length == 0:
                continue
            if length > MAX_FRAME:
                return
            msg = recv_exact(conn, length)
            kind = msg[0]
            if kind == 2 and not unchoked and not choked_for_good:  # interested
                unchoked = True
                conn.sendall(struct.pack(">IB", 1, 1))
            elif kind == 6 and length == 13 and unchoked:       # request
                index, begin, size = struct.unpack(">III", msg[1:13])
                block = torrent.read(index, begin, size)
                if block is None:
                    return
                bad = once.corrupt(torrent, index, begin, size) if once else index % mod == rem
                if delay:
                    time.sleep(delay)
                if bad:
                    block = bytes(b ^ 0xFF for b in block)
                # Counted before sending, so whoever received the block sees it counted.
                stats.bump("corrupt_blocks" if bad else "good_blocks")
                conn.sendall(struct.pack(">IBII", 9 + len(block), 7, index, begin) + block)
                if bad and once:
                    unchoked, choked_for_good = False, True
                    conn.sendall(struct.pack(">IB", 1, 0))      # choke: the rest of the piece from others
            elif kind == 20 and length >= 2 and hashes:          # extended
                if msg[1] == 0:
                    found = re.search(rb"11:ut_metadatai(\d+)e", msg[2:])
                    their_metadata_id = int(found.group(1)) if found else 2
                elif msg[1] == 3:
                    found = re.search(rb"5:piecei(\d+)e", msg[2:])
                    if b"8:msg_typei0e" in msg[2:] and found:
                        piece = int(found.group(1))
                        chunk = torrent.info[piece * 16384:(piece + 1) * 16384]
                        head = b"d8:msg_typei1e5:piecei%de10:total_sizei%dee" % (piece, len(torrent.info))
                        stats.bump("metadata_pieces")
                        conn.sendall(struct.pack(">IBB", 2 + len(head) + len(chunk), 20, their_metadata_id)
                                     + head + chunk)
            elif kind == 21 and length == 49 and hashes:        # hash request
                stats.bump("hash_requests")
                answer = hash_answer(msg, hashes, torrent)
                stats.bump("hashes_sent")
                conn.sendall(answer)
    except (OSError, ConnectionError, struct.error):
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--stats")
    ap.add_argument("--corrupt-mod", type=int, default=3)
    ap.add_argument("--corrupt-rem", type=int, default=0)
    ap.add_argument("--corrupt-once-after", type=int)
    ap.add_argument("--block-delay", type=float, default=0)
    ap.add_argument("--hashes", choices=["lie", "oversized", "honest"])
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    torrent = Torrent(a.torrent, a.data)
    stats = Stats(a.stats)
    stats.bump(None)
    my_id = b"-XC0001-" + os.urandom(12)
    once = Once(a.corrupt_once_after) if a.corrupt_once_after is not None else None
    parent = os.getppid()
    # Nothing to clean up: leave at once (a blocked connection thread must not delay the exit).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", a.port))
    server.listen(16)
    server.settimeout(0.5)
    with open(a.ready + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.replace(a.ready + ".tmp", a.ready)
    print("[corrupt_peer] pid %d on 127.0.0.1:%d, %d pieces, corrupting index %% %d == %d" %
          (os.getpid(), a.port, torrent.piece_count, a.corrupt_mod, a.corrupt_rem), flush=True)
    t0 = time.time()
    while time.time() - t0 < a.timeout and os.getppid() == parent:
        try:
            conn, addr = server.accept()
        except socket.timeout:
            continue
        print("[corrupt_peer] connection from %s:%d" % addr, flush=True)
        threading.Thread(target=serve, args=(conn, torrent, stats, a.corrupt_mod, a.corrupt_rem, my_id, a.hashes,
                                             once, a.block_delay), daemon=True).start()
    print("[corrupt_peer] exiting", flush=True)


main()
