#!/usr/bin/env python3
"""A peer that floods a seeding btq with valid requests while choked (Fast extension on) and never
reads its socket. Prints btq's RSS once a second. 127.0.0.1 only; bounded in time."""
#
# Usage (inside a loopback-only namespace, against a seeding `btq run --port PORT`):
#     python3 Benchmarks/request_flood.py PORT INFO_HASH_HEX BTQ_PID SECONDS [PIECE_COUNT]
# Prints btq's VmRSS once a second while flooding, after closing, and 10 s later.
import socket, struct, sys, time, select

port, info_hash_hex, pid, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
piece_count = int(sys.argv[5]) if len(sys.argv) > 5 else 16

def rss_mib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
reserved = bytearray(8); reserved[7] |= 0x04  # Fast extension
s.sendall(bytes([19]) + b"BitTorrent protocol" + bytes(reserved) + bytes.fromhex(info_hash_hex) + b"-PY0001-" + b"x" * 12)
s.sendall(struct.pack(">IB", 1, 0x0F))  # have none
chunk = b"".join(struct.pack(">IBIII", 13, 6, i % piece_count, (i % 4) * 16384, 16384) for i in range(4096))
s.setblocking(False)
start = time.time(); last = 0; sent = 0; pending = memoryview(chunk)
print(f"t=0 rss={rss_mib():.1f} MiB", flush=True)
while time.time() - start < seconds:
    _, w, _ = select.select([], [s], [], 0.2)
    if w:
        try:
            n = s.send(pending); sent += n; pending = pending[n:]
            if not pending: pending = memoryview(chunk)
        except BlockingIOError:
            pass
        except OSError as e:
            print(f"t={time.time()-start:.1f} connection ended: {e}", flush=True); break
    if time.time() - last >= 1:
        last = time.time()
        print(f"t={last-start:.0f} rss={rss_mib():.1f} MiB sent={sent/1e6:.1f} MB", flush=True)
s.close()
print(f"closed; rss={rss_mib():.1f} MiB", flush=True)
for i in range(10):
    time.sleep(1)
print(f"10 s after close: rss={rss_mib():.1f} MiB", flush=True)
