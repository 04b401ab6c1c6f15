#!/usr/bin/env python3
"""Adds a magnet link through the stock Transmission web interface, as a person would, in headless
Chromium driven over the DevTools protocol (a minimal websocket client from the standard library).

Starts Chromium (loopback only, no background networking), opens URL, waits until the page lists
`--expect-rows` torrents, clicks the toolbar's open button, clicks the dialog's URL field, types the
magnet, clicks the dialog's upload button, waits until the page lists one torrent more, and saves a
screenshot. Prints a JSON report; exits non-zero on any failure. Every wait has a deadline.
"""
import argparse
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request


class WebSocket:
    """A websocket client for one DevTools target on 127.0.0.1 (text frames, client masking)."""

    def __init__(self, url, timeout):
        assert url.startswith("ws://127.0.0.1:"), url
        rest = url[len("ws://"):]
        hostport, path = rest.split("/", 1)
        host, port = hostport.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = ("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n") % (path, hostport, key)
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("the DevTools websocket closed during the handshake")
            head += chunk
            if len(head) > 8192:
                raise RuntimeError("the DevTools handshake is too long")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError("no websocket upgrade: %r" % head[:200])
        self.next_id = 0

    def _read(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise RuntimeError("the DevTools websocket closed")
            data += chunk
        return data

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self, limit=64 << 20):
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            if len(message) + length > limit:
                raise RuntimeError("a DevTools message over %d bytes" % limit)
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == 8:
                raise RuntimeError("the DevTools websocket closed")
            if opcode in (0, 1, 2):
                message += payload
                if first & 0x80:
                    return message.decode()

    def call(self, method, params=None, timeout=30):
        self.next_id += 1
        ident = self.next_id
        self.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.time() + timeout
        while time.time() < deadline:
            answer = json.loads(self.receive())
            if answer.get("id") == ident:
                if "error" in answer:
                    raise RuntimeError("%s: %s" % (method, answer["error"]))
                return answer.get("result", {})
        raise RuntimeError("%s: no answer within %d s" % (method, timeout))


def wait(what, timeout, condition):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError("timed out waiting for " + what)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--url", required=True)
    parser.add_argument("--auth", help="user:password for HTTP basic authentication")
    parser.add_argument("--magnet", required=True)
    parser.add_argument("--expect-rows", type=int, required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    port_file = os.path.join(args.profile, "DevToolsActivePort")
    browser = subprocess.Popen(
        [args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-sync", "--disable-extensions",
         "--disable-component-update", "--disable-default-apps", "--no-default-browser-check",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         "--user-data-dir=" + args.profile, "--window-size=1280,720", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report = {"steps": []}
    try:
        port = wait("Chromium's DevTools port", args.timeout,
                    lambda: os.path.exists(port_file) and open(port_file).read().split("\n")[0].strip())
        targets = wait("a page target", args.timeout, lambda: [
            t for t in json.load(urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=5))
            if t.get("type") == "page"])
        page = WebSocket(targets[0]["webSocketDebuggerUrl"], args.timeout)

        def evaluate(expression):
            result = page.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
            if "exceptionDetails" in result:
                raise RuntimeError("page script failed: %s" % result["exceptionDetails"])
            return result["result"].get("value")

        def click(selector):
            box = wait(selector + " to show", args.timeout, lambda: evaluate(
                "(() => { const e = document.querySelector(%s); if (!e) return null;"
                " const r = e.getBoundingClientRect(); if (r.width == 0 || r.height == 0) return null;"
                " return [r.x + r.width / 2, r.y + r.height / 2]; })()" % json.dumps(selector)))
            for kind in ("mousePressed", "mouseReleased"):
                page.call("Input.dispatchMouseEvent",
                          {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})
            report["steps"].append("clicked " + selector)

        rows = "document.querySelectorAll('#torrent_list .torrent').length"
        page.call("Page.enable")
        if args.auth:
            # Every request of the page (the RPC's too) carries the credentials.
            page.call("Network.enable")
            token = base64.b64encode(args.auth.encode()).decode()
            page.call("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Basic " + token}})
        page.call("Page.navigate", {"url": args.url})
        wait("the page to list %d torrent(s)" % args.expect_rows, args.timeout,
             lambda: evaluate(rows) == args.expect_rows)
        report["steps"].append("listed %d" % args.expect_rows)
        click("#toolbar-open")
        click("#torrent_upload_url")
        page.call("Input.insertText", {"text": args.magnet})
        typed = evaluate("document.querySelector('#torrent_upload_url').value")
        if typed != args.magnet:
            raise RuntimeError("the URL field holds %r" % typed)
        report["steps"].append("typed the magnet")
        click("#upload_confirm_button")
        wait("the page to list the added torrent", args.timeout, lambda: evaluate(rows) == args.expect_rows + 1)
        report["steps"].append("listed %d" % (args.expect_rows + 1))
        report["names"] = evaluate(
            "Array.from(document.querySelectorAll('#torrent_list .torrent_name')).map(e => e.textContent)")
        shot = page.call("Page.captureScreenshot", {"format": "png"})
        with open(args.screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        report["screenshot"] = args.screenshot
        print(json.dumps(report))
    except Exception as error:  # noqa: BLE001 - reported, then a non-zero exit
        report["error"] = str(error)
        print(json.dumps(report))
        sys.exit(1)
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=20)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()


if __name__ == "__main__":
    main()
