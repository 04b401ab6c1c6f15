#!/usr/bin/python3
"""A web server for btq's web seed tests (BEP 19): serves the files below --root with Range support
(HTTP/1.1, keep-alive), on 127.0.0.1 only, and can misbehave on request.

Misbehaviours (each a flag):
  --corrupt PATH:OFFSET:LENGTH  serve LENGTH bytes of the file PATH (below the root) from OFFSET inverted
  --ignore-range-endless        answer every request 200 without a length and stream bytes without end
  --silent                      accept connections, read the request, never answer
  --rate BYTES                  send at most BYTES a second per connection
  --busy N                      answer the first N requests 503 with Retry-After: 1
  --redirect                    answer every path not below /moved/ with a 302 to /moved/PATH

It writes one line of JSON per request to --log (path, range, status, bytes sent), and its port to
--ready once listening.
"""
import argparse
import json
import os
import re
import socketserver
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
BUSY = {"left": 0}


def log(args, entry):
    if not args.log:
        return
    with LOCK, open(args.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def make_handler(args):
    corrupt = None
    if args.corrupt:
        path, offset, length = args.corrupt.rsplit(":", 2)
        corrupt = (path.encode(), int(offset), int(length))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def send_slowly(self, data):
            if args.rate <= 0:
                self.wfile.write(data)
                return
            chunk = max(1024, args.rate // 20)
            for start in range(0, len(data), chunk):
                began = time.monotonic()
                self.wfile.write(data[start:start + chunk])
                spent = time.monotonic() - began
                wait = chunk / args.rate - spent
                if wait > 0:
                    time.sleep(wait)

        def do_GET(self):
            with LOCK:
                busy = BUSY["left"] > 0
                BUSY["left"] -= 1 if busy else 0
            if busy:
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()
                log(args, {"path": self.path, "status": 503})
                return
            if args.silent:
                time.sleep(args.timeout)
                self.close_connection = True
                return
            if args.ignore_range_endless:
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                block = b"\x55" * 65536
                sent = 0
                deadline = time.monotonic() + args.timeout
                try:
                    while time.monotonic() < deadline:
                        self.wfile.write(block)
                        sent += len(block)
                except OSError:
                    pass
                log(args, {"path": self.path, "status": 200, "sent": sent})
                self.close_connection = True
                return
            path = urllib.parse.urlsplit(self.path).path
            if args.redirect:
                if not path.startswith("/moved/"):
                    self.send_response(302)
                    self.send_header("Location", "/moved" + path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    log(args, {"path": self.path, "status": 302})
                    return
                path = path[len("/moved"):]
            relative = urllib.parse.unquote_to_bytes(path).lstrip(b"/")
            full = os.path.join(os.fsencode(args.root), relative)
            if b".." in relative.split(b"/") or not os.path.isfile(full):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                log(args, {"path": self.path, "status": 404})
                return
            size = os.path.getsize(full)
            first, last, status = 0, size - 1, 200
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if match:
                first = int(match.group(1))
                last = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
                status = 206
                if first > last:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            with open(full, "rb") as f:
                f.seek(first)
                data = bytearray(f.read(last - first + 1))
            if corrupt and relative == corrupt[0]:
                for position in range(max(first, corrupt[1]), min(last + 1, corrupt[1] + corrupt[2])):
                    data[position - first] ^= 0xFF
            self.send_response(status)
            if status == 206:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.send_slowly(bytes(data))
            except OSError:
                return
            log(args, {"path": self.path, "range": [first, last], "status": status, "sent": len(data)})

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready", required=True)
    parser.add_argument("--log")
    parser.add_argument("--corrupt")
    parser.add_argument("--ignore-range-endless", action="store_true")
    parser.add_argument("--silent", action="store_true")
    parser.add_argument("--rate", type=int, default=0)
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--redirect", action="store_true")
    parser.add_argument("--timeout", type=float, default=600, help="seconds the server runs at most")
    args = parser.parse_args()
    BUSY["left"] = args.busy
    server = Server(("127.0.0.1", args.port), make_handler(args))
    threading.Timer(args.timeout, server.shutdown).start()
    with open(args.ready + ".tmp", "w") as f:
        f.write(str(args.port))
    os.rename(args.ready + ".tmp", args.ready)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
