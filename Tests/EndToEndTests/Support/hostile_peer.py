#!/usr/bin/env python3
"""hostile_peer.py -- a misbehaving BitTorrent peer for btq's end-to-end tests (loopback only).

  hostile_peer.py --port P --info-hash HEX --pieces N --mode MODE --ready FILE --stats FILE
                  [--connections C] [--duration S] [--rate BYTES_PER_S] [--rcvbuf BYTES]
                  [--sources K] [--lengths L1,L2,...] [--fill BYTES] [--max-connects M]
                  [--root HEX --base LAYER --length COUNT]

Dials 127.0.0.1:P (the program under test), from source addresses 127.0.0.2 .. 127.0.0.(K+1)
(--sources, default 1; all in 127.0.0.0/8, which Linux routes to lo, so an honest peer on
127.0.0.1 keeps an address of its own), keeps C connections (--connections) open, and
misbehaves on each of them for --duration seconds (default 60, at most 600). Standard library
only. MODE is one of:

  request-flood   BitTorrent handshake (Fast extension and extension protocol bits set), then,
                  once the handshake is answered, endless valid `request` messages (16 KiB blocks of
                  pieces 0..N-2) while choked (never `interested`), never reading the socket again;
                  SO_RCVBUF is --rcvbuf (default 4096) so nothing the program sends is absorbed.
  metadata-flood  handshake, reads the program's messages up to its extension handshake (for its
                  ut_metadata id; 2 if none comes within 5 s), sends an extension handshake naming
                  ut_metadata, then endless ut_metadata requests for piece 0 and for pieces past
                  the metadata's end (below 1024: BEP 9 metadata is at most 16 MiB), never reading
                  again.
  have-flood      handshake, an empty bitfield, then `have` for every piece in random order, over and
                  over, never reading again.
  hash-request-flood
                  handshake, then endless BEP 52 `hash request`s (message 21) never reading again: for
                  the file whose `pieces root` is --root, COUNT (--length) hashes of layer --base at
                  index 0 with no proof layers (answerable), the same with 3 proof layers, and one
                  for a root of zeros (to be rejected), over and over.
  huge-prefix     handshake, then a length prefix from --lengths (cycled over the connections;
                  default 1048576, the largest frame btq accepts, and 16777215, beyond it), the
                  extended message id and, when the frame's body fits in --fill bytes (default 0), all
                  of it but its last byte; then silence. The
                  connection is held open; what the program sends is read and dropped.
  idle            connects and then sends nothing (even connections) or the first 30 bytes of a
                  handshake (odd ones), and holds the connection open; what the program sends is
                  read and dropped.

A connection the program closes is dialled again (at most --max-connects dials in all, default
20 x C, and at most 50 a second), as an attacker would. Sends are paced to --rate bytes a second
in all (default 4 MiB/s).

Writes FILE (--ready) once the attack is under way: a handshake was answered (idle: every
connection is open). --stats FILE is rewritten (atomically) every 0.5 s and at the end with JSON:
mode, elapsed, connects (dials that connected), connect_failures, handshakes (answered), closed
(connections the program closed or reset), open (now), bytes_sent, messages_sent.
Exits after --duration, on SIGTERM/SIGINT, or when its parent process goes away.
"""
import argparse, errno, json, os, random, re, selectors, signal, socket, struct, sys, time

PROTOCOL = b"\x13BitTorrent protocol"
# Extension protocol (BEP 10): byte 5 bit 0x10; Fast extension (BEP 6): byte 7 bit 0x04.
RESERVED = bytes([0, 0, 0, 0, 0, 0x10, 0, 0x04])
EXTENDED = 20
CHUNK = 64 * 1024
MAX_DURATION = 600
MAX_CONNECTIONS = 1000


def frame(msg_id, payload=b""):
    return struct.pack(">IB", 1 + len(payload), msg_id) + payload


def request_chunk(pieces):
    """About CHUNK bytes of valid `request` messages for 16 KiB at the start of pieces 0..N-2."""
    usable = max(1, pieces - 1)
    out = bytearray()
    i = 0
    while len(out) < CHUNK:
        out += frame(6, struct.pack(">III", i % usable, 0, 16384))
        i += 1
    return bytes(out), i


def metadata_chunk(their_id):
    """About CHUNK bytes of ut_metadata requests: piece 0, and pieces past the metadata (but below
    1024, the most that 16 MiB of metadata has: a peer asking beyond that breaks the protocol)."""
    out = bytearray()
    count = 0
    for piece in [0, 1, 0, 7, 0, 1023]:
        out += frame(EXTENDED, bytes([their_id]) + b"d8:msg_typei0e5:piecei%dee" % piece)
        count += 1
    one = bytes(out)
    times = max(1, CHUNK // len(one))
    return one * times, count * times


def hash_request_chunk(root, base, length):
    """About CHUNK bytes of `hash request`s: answerable ones for `root`, and one for an unknown root."""
    one = (frame(21, root + struct.pack(">IIII", base, 0, length, 0))
           + frame(21, root + struct.pack(">IIII", base, 0, length, 3))
           + frame(21, bytes(32) + struct.pack(">IIII", base, 0, length, 0)))
    times = max(1, CHUNK // len(one))
    return one * times, 3 * times


def have_chunk(pieces):
    """`have` for every piece in a random order, repeated to about CHUNK bytes."""
    order = list(range(pieces))
    random.shuffle(order)
    one = b"".join(frame(4, struct.pack(">I", i)) for i in order)
    times = max(1, CHUNK // len(one))
    return one * times, pieces * times


class Stats:
    def __init__(self, path, mode):
        self.path = path
        self.value = {"mode": mode, "elapsed": 0.0, "connects": 0, "connect_failures": 0, "handshakes": 0,
                      "closed": 0, "open": 0, "bytes_sent": 0, "messages_sent": 0}
        self.written = 0.0

    def bump(self, key, by=1):
        self.value[key] += by

    def write(self, now, t0, force=False):
        if not force and now - self.written < 0.5:
            return
        self.written = now
        self.value["elapsed"] = round(now - t0, 3)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.value, f)
        os.replace(tmp, self.path)


class Connection:
    """One socket and where it is in the script of its mode."""

    def __init__(self, slot, source):
        self.slot = slot
        self.source = source
        self.sock = None
        self.state = "closed"         # connecting, handshake, preamble, flood, hold, closed
        self.out = b""                # bytes still to send before the next flood chunk
        self.out_messages = 0
        self.inbuf = bytearray()
        self.since = 0.0
        self.retry_at = 0.0


class Attack:
    def __init__(self, a):
        self.a = a
        self.info_hash = bytes.fromhex(a.info_hash)
        if len(self.info_hash) != 20:
            sys.exit("--info-hash must be 40 hexadecimal digits")
        self.lengths = [int(x) for x in a.lengths.split(",")]
        self.sel = selectors.DefaultSelector()
        self.stats = Stats(a.stats, a.mode)
        self.conns = [Connection(i, "127.0.0.%d" % (2 + i % a.sources)) for i in range(a.connections)]
        self.dials = 0
        self.dial_times = []
        self.tokens = float(CHUNK)
        self.last_refill = time.monotonic()
        self.ready = False
        if a.mode == "request-flood":
            self.chunk, self.chunk_messages = request_chunk(a.pieces)
        elif a.mode == "have-flood":
            self.chunk, self.chunk_messages = have_chunk(a.pieces)
        elif a.mode == "hash-request-flood":
            root = bytes.fromhex(a.root)
            if len(root) != 32:
                sys.exit("--root must be 64 hexadecimal digits")
            self.chunk, self.chunk_messages = hash_request_chunk(root, a.base, a.length)
        else:
            self.chunk, self.chunk_messages = b"", 0
        self.metadata_chunks = {}

    # -- connections ------------------------------------------------------------------------------

    def dial(self, c, now):
        if self.dials >= self.a.max_connects:
            return
        self.dial_times = [t for t in self.dial_times if now - t < 1.0]
        if len(self.dial_times) >= 50:
            c.retry_at = now + 0.05
            return
        self.dials += 1
        self.dial_times.append(now)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.a.rcvbuf)
        s.bind((c.source, 0))
        s.setblocking(False)
        c.sock = s
        c.state = "connecting"
        c.since = now
        c.inbuf = bytearray()
        c.out = b""
        c.out_messages = 0
        err = s.connect_ex(("127.0.0.1", self.a.port))
        if err not in (0, errno.EINPROGRESS):
            self.failed(c, now)
            return
        self.sel.register(s, selectors.EVENT_WRITE, c)

    def failed(self, c, now):
        self.stats.bump("connect_failures")
        self.drop(c, now, counted=False)

    def drop(self, c, now, counted=True):
        if c.sock is not None:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
            if counted:
                self.stats.bump("closed")
                self.stats.bump("open", -1)
        c.sock = None
        c.state = "closed"
        c.retry_at = now + 0.2

    def watch(self, c, read, write):
        events = (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if write else 0)
        if events == 0:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            return
        try:
            self.sel.modify(c.sock, events, c)
        except (KeyError, ValueError):
            self.sel.register(c.sock, events, c)

    def connected(self, c, now):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != 0:
            self.failed(c, now)
            return
        self.stats.bump("connects")
        self.stats.bump("open")
        mode = self.a.mode
        # A peer id of its own for each connection: btq keeps one connection per peer id.
        handshake = PROTOCOL + RESERVED + self.info_hash + b"-XH0001-" + os.urandom(12)
        if mode == "idle":
            c.out = b"" if c.slot % 2 == 0 else handshake[:30]
            c.state = "hold"
            self.watch(c, True, bool(c.out))
            if not self.ready and self.stats.value["connects"] >= len(self.conns):
                self.mark_ready()
            return
        c.out = handshake
        c.state = "handshake"
        self.watch(c, True, True)

    # -- reading ----------------------------------------------------------------------------------

    def readable(self, c, now):
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self.drop(c, now)
            return
        if not data:
            self.drop(c, now)
            return
        if c.state in ("hold",):
            return                      # read and dropped: only to notice a close
        c.inbuf += data
        if c.state == "handshake" and len(c.inbuf) >= 68:
            if c.inbuf[:20] != PROTOCOL or bytes(c.inbuf[28:48]) != self.info_hash:
                self.drop(c, now)
                return
            self.stats.bump("handshakes")
            if not self.ready:
                self.mark_ready()
            del c.inbuf[:68]
            self.after_handshake(c, now)
        if c.state == "preamble":
            self.scan_for_extension_handshake(c, now)

    def after_handshake(self, c, now):
        mode = self.a.mode
        if mode in ("request-flood", "hash-request-flood"):
            self.start_flood(c, b"", 0)
        elif mode == "have-flood":
            bitfield = frame(5, bytes((self.a.pieces + 7) // 8))
            self.start_flood(c, bitfield, 1)
        elif mode == "metadata-flood":
            c.state = "preamble"
            c.since = now
        elif mode == "huge-prefix":
            length = self.lengths[c.slot % len(self.lengths)]
            # A frame whose body fits in --fill is sent but for its last byte; a longer one only its prefix.
            fill = length - 1 if 0 < length - 1 <= self.a.fill else 0
            body = struct.pack(">IB", length, EXTENDED) + bytes(fill)
            c.out += body
            self.stats.bump("messages_sent")
            c.state = "hold"
            self.watch(c, True, True)

    def scan_for_extension_handshake(self, c, now):
        """Reads the program's frames until its extension handshake; its ut_metadata id, or None."""
        while len(c.inbuf) >= 4:
            (length,) = struct.unpack(">I", c.inbuf[:4])
            if length > (1 << 22):
                self.drop(c, now)
                return
            if len(c.inbuf) < 4 + length:
                break
            body = bytes(c.inbuf[4:4 + length])
            del c.inbuf[:4 + length]
            if length >= 2 and body[0] == EXTENDED and body[1] == 0:
                found = re.search(rb"11:ut_metadatai(\d+)e", body)
                self.begin_metadata_flood(c, int(found.group(1)) if found else 2)
                return
        if now - c.since > 5:
            self.begin_metadata_flood(c, 2)

    def begin_metadata_flood(self, c, their_id):
        ours = b"d1:md11:ut_metadatai3ee1:v7:hostilee"
        if their_id not in self.metadata_chunks:
            self.metadata_chunks[their_id] = metadata_chunk(their_id)
        self.start_flood(c, frame(EXTENDED, b"\x00" + ours), 1)
        c.metadata_id = their_id

    def start_flood(self, c, preamble, messages):
        c.out += preamble
        c.out_messages += messages
        c.state = "flood"
        c.inbuf = bytearray()
        self.watch(c, False, True)      # never read again

    # -- writing ----------------------------------------------------------------------------------

    def writable(self, c, now):
        if c.state == "connecting":
            self.connected(c, now)
            return
        if not c.out and c.state == "flood":
            if self.a.mode == "metadata-flood":
                c.out, c.out_messages = self.metadata_chunks[c.metadata_id]
            else:
                c.out, c.out_messages = self.chunk, self.chunk_messages
        if not c.out:
            self.watch(c, c.state in ("handshake", "preamble", "hold"), False)
            return
        budget = int(self.tokens)
        if budget <= 0:
            return
        piece = c.out[:min(len(c.out), budget, CHUNK)]
        try:
            sent = c.sock.send(piece)
        except BlockingIOError:
            return
        except OSError:
            self.drop(c, now)
            return
        self.tokens -= sent
        self.stats.bump("bytes_sent", sent)
        if sent == len(c.out):
            self.stats.bump("messages_sent", c.out_messages)
            c.out, c.out_messages = b"", 0
        else:
            c.out = c.out[sent:]
        if not c.out and c.state != "flood":
            self.watch(c, c.state in ("handshake", "preamble", "hold"), False)

    def mark_ready(self):
        self.ready = True
        tmp = self.a.ready + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(tmp, self.a.ready)

    # -- the loop ---------------------------------------------------------------------------------

    def run(self):
        t0 = time.monotonic()
        parent = os.getppid()
        duration = min(self.a.duration, MAX_DURATION)
        while True:
            now = time.monotonic()
            if now - t0 >= duration or os.getppid() != parent:
                break
            self.tokens = min(float(max(CHUNK, self.a.rate)), self.tokens + (now - self.last_refill) * self.a.rate)
            self.last_refill = now
            if self.tokens < 4096:
                # Out of budget: wait for it instead of spinning on writable sockets (pacing only).
                time.sleep(min(0.02, (4096 - self.tokens) / self.a.rate))
                continue
            for c in self.conns:
                if c.state == "closed" and now >= c.retry_at:
                    self.dial(c, now)
                elif c.state == "preamble":
                    self.scan_for_extension_handshake(c, now)
            for key, events in self.sel.select(timeout=0.02):
                c = key.data
                if c.sock is None or key.fileobj is not c.sock:
                    continue
                if events & selectors.EVENT_READ:
                    self.readable(c, now)
                if c.sock is not None and events & selectors.EVENT_WRITE:
                    self.writable(c, now)
            self.stats.write(now, t0)
        self.stats.write(time.monotonic(), t0, force=True)
        print("[hostile_peer] %s done: %s" % (self.a.mode, json.dumps(self.stats.value)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--info-hash", required=True)
    ap.add_argument("--pieces", type=int, required=True)
    ap.add_argument("--mode", required=True,
                    choices=["request-flood", "metadata-flood", "have-flood", "huge-prefix", "idle",
                             "hash-request-flood"])
    ap.add_argument("--ready", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--rate", type=int, default=4 << 20)
    ap.add_argument("--rcvbuf", type=int, default=4096)
    ap.add_argument("--sources", type=int, default=1)
    ap.add_argument("--lengths", default="1048576,16777215")
    ap.add_argument("--fill", type=int, default=0)
    ap.add_argument("--max-connects", type=int, default=0)
    ap.add_argument("--root", default="00" * 32)
    ap.add_argument("--base", type=int, default=0)
    ap.add_argument("--length", type=int, default=512)
    a = ap.parse_args()
    if not 1 <= a.connections <= MAX_CONNECTIONS:
        sys.exit("--connections must be between 1 and %d" % MAX_CONNECTIONS)
    if not 1 <= a.sources <= 250:
        sys.exit("--sources must be between 1 and 250 (127.0.0.2 .. 127.0.0.251)")
    if a.pieces < 1 or a.rate < 1:
        sys.exit("--pieces and --rate must be positive")
    if a.max_connects <= 0:
        a.max_connects = 20 * a.connections
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    print("[hostile_peer] pid %d: %s against 127.0.0.1:%d, %d connection(s) from %d address(es), %.0f s" %
          (os.getpid(), a.mode, a.port, a.connections, a.sources, a.duration), flush=True)
    Attack(a).run()


main()
