#!/usr/bin/python3
"""tls_front.py -- a TLS front for btq's HTTPS end-to-end tests (loopback only).

  tls_front.py --port P --cert CERT --key KEY --ready FILE --mode MODE [--upstream PORT]
               [--stats FILE] [--timeout S]

Listens on 127.0.0.1:P with Python's `ssl` module (server certificate CERT, key KEY, both PEM) and,
once the TLS handshake with a client is done, reads its HTTP request (at most 64 KiB, up to the blank
line) and then, by MODE:

  proxy     forwards the request to 127.0.0.1:PORT (the real tracker or web server, plain HTTP) and
            relays both ways until either side closes (a TLS reverse proxy; a kept-alive connection's
            later requests go through too).
  silent    never answers; keeps the connection open until the client closes it.
  flood     answers `200 OK` without a length, then sends a body of endless bytes.
  headers   answers `200 OK`, then one endless header line.

In the misbehaving modes it sends until the client stops reading or closes, and keeps FILE (JSON:
{"connections": N, "sent": BYTES}) up to date so the test can see how much the client took. FILE
(--ready) is written once it listens. Exits on SIGTERM/SIGINT, after --timeout seconds (default
600), or when its parent process goes away. Each connection has its own thread; a failed handshake
(a client that refuses the certificate) only ends that connection. "ended" in FILE counts the
connections that are over (the client closed, or the handshake failed).
"""
import argparse, json, os, select, signal, socket, ssl, threading, time

lock = threading.Lock()
stats = {"connections": 0, "handshakes": 0, "ended": 0, "sent": 0}
stats_file = None
CHUNK = b"x" * 16384


def save_stats():
    if not stats_file:
        return
    with lock:
        tmp = stats_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, stats_file)


def count(key, n=1):
    with lock:
        stats[key] += n


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        part = conn.recv(4096)
        if not part:
            break
        data += part
    return data


def send_forever(conn, first, chunk, deadline):
    conn.sendall(first)
    count("sent", len(first))
    last = 0
    while time.time() < deadline:
        conn.sendall(chunk)
        count("sent", len(chunk))
        if time.time() - last > 0.2:
            save_stats()
            last = time.time()


def serve(raw, context, a):
    raw.settimeout(30)
    count("connections")
    try:
        conn = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        print("[tls_front] handshake failed: %s" % e, flush=True)
        raw.close()
        count("ended")
        save_stats()
        return
    count("handshakes")
    save_stats()
    deadline = time.time() + a.timeout
    try:
        request = read_request(conn)
        line = request.split(b"\r\n", 1)[0].decode("latin-1")
        print("[tls_front] %s: %s" % (a.mode, line), flush=True)
        if a.mode == "proxy":
            upstream = socket.create_connection(("127.0.0.1", a.upstream), timeout=30)
            upstream.sendall(request)
            # One thread, one loop: an SSL socket is never read and written from two threads at once.
            open_ = True
            while open_:
                ready = [conn] if conn.pending() else select.select([conn, upstream], [], [], 30)[0]
                if not ready:
                    break
                for side in ready:
                    part = side.recv(65536)
                    if not part:
                        open_ = False
                        break
                    if side is conn:
                        upstream.sendall(part)
                    else:
                        conn.sendall(part)
                        count("sent", len(part))
            upstream.close()
        elif a.mode == "silent":
            conn.settimeout(a.timeout)
            while conn.recv(4096):
                pass
        elif a.mode == "flood":
            send_forever(conn, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", CHUNK, deadline)
        elif a.mode == "headers":
            send_forever(conn, b"HTTP/1.1 200 OK\r\nX-Endless: ", CHUNK, deadline)
    except (ssl.SSLError, OSError) as e:
        print("[tls_front] connection ended: %s" % e, flush=True)
    finally:
        try:
            conn.close()
        except OSError:
            pass
        count("ended")
        save_stats()


def main():
    global stats_file
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--mode", choices=["proxy", "silent", "flood", "headers"], default="proxy")
    ap.add_argument("--upstream", type=int, default=0)
    ap.add_argument("--stats")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    stats_file = a.stats
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(a.cert, a.key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", a.port))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    parent = os.getppid()
    save_stats()
    with open(a.ready, "w") as f:
        f.write("%d\n" % a.port)
    t0 = time.time()
    while not stop and time.time() - t0 < a.timeout and os.getppid() == parent:
        try:
            raw, _ = listener.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(raw, context, a), daemon=True).start()
    listener.close()


if __name__ == "__main__":
    main()
