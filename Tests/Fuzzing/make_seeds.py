#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets into Corpus/<target>/.

The seeds are checked in; run this again only to change them. The metainfo seeds also include a few
small .torrent files copied from the test fixtures (libtorrent's test suite, BSD licence, see
Tests/EngineTests/Fixtures/conformance/LICENSE.libtorrent), and the info dictionaries of some of them
as seeds for metadata fetched from peers.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "Corpus")


def bencode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(value)


def info_span(data):
    """The byte range of the value of the top-level key `info`."""
    def skip(i):
        c = data[i:i + 1]
        if c == b"i":
            return data.index(b"e", i) + 1
        if c in (b"l", b"d"):
            i += 1
            while data[i:i + 1] != b"e":
                i = skip(i)
            return i + 1
        colon = data.index(b":", i)
        return colon + 1 + int(data[i:colon])
    i = 1
    while data[i:i + 1] != b"e":
        key_end = skip(i)
        colon = data.index(b":", i)
        key = data[colon + 1:key_end]
        value_end = skip(key_end)
        if key == b"info":
            return key_end, value_end
        i = value_end
    return None


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def frame(message_id, payload=b""):
    return struct.pack(">IB", 1 + len(payload), message_id) + payload


def handshake(reserved=bytes([0, 0, 0, 0, 0, 0x10, 0, 0x05])):
    return b"\x13BitTorrent protocol" + reserved + bytes(range(20)) + b"-BT0001-" + b"123456789012"


def main():
    conformance = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../EngineTests/Fixtures/conformance")
    torrents = ["base.torrent", "sample.torrent", "pad_file.torrent", "symlink1.torrent", "v2.torrent",
                "v2_only.torrent", "v2_multipiece_file.torrent", "url_seed_multi.torrent", "duplicate_files.torrent",
                "parent_path.torrent", "creation_date.torrent", "empty-files-1.torrent", "v2_symlinks.torrent",
                "invalid_symlink.torrent", "v2_large_offset.torrent"]
    for name in torrents:
        with open(os.path.join(conformance, name), "rb") as f:
            data = f.read()
        write("FuzzMetainfo", name, data)
        span = info_span(data)
        if span and name in ("base.torrent", "v2.torrent", "pad_file.torrent", "v2_symlinks.torrent"):
            write("FuzzMetainfo", "info-" + name.replace(".torrent", ".bin"), data[span[0]:span[1]])
        if name in ("base.torrent", "v2.torrent"):
            write("FuzzBencode", name, data)

    # Bencode.
    for name, data in {
        "integer": b"i-42e", "string": b"4:spam", "list": b"l4:spami42ee",
        "dictionary": b"d3:bar4:spam3:fooi42ee", "nested": b"d1:ad1:bl1:cd1:di0eeeee",
        "unsorted": b"d1:b0:1:a0:e", "empty": b"de", "max-integer": b"i9223372036854775807e",
    }.items():
        write("FuzzBencode", name, data)

    # Magnet links.
    hex1 = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    hex2 = "d8dd32ac93357c368556af3ac1d95c9d76bd0dff6fa9833ecdac3d53134efabb"
    for name, text in {
        "hex": f"magnet:?xt=urn:btih:{hex1}",
        "base32": "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&dn=base32",
        "v2": f"magnet:?xt=urn:btmh:1220{hex2}&dn=v2%20only",
        "hybrid": f"magnet:?xt=urn:btih:{hex1}&xt=urn:btmh:1220{hex2}&dn=a+b%2Bc"
                  "&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&tr.1=udp://127.0.0.1:6969"
                  "&ws=http://127.0.0.1/files&x.pe=127.0.0.1:6881&x.pe=[::1]:6881&so=0-3",
        "numbered": f"magnet:?xt.1=urn:btih:{hex1}&xt.2=urn:btih:{hex1}&tr.2=http://[::1]/a&tr.1=http://[::1]/a",
    }.items():
        write("FuzzMagnet", name, text.encode())

    # Peer wire: a limit choice, four read sizes, then a stream.
    requests = struct.pack(">III", 0, 0, 16384)
    stream = (handshake() + frame(5, b"\xff\xf0") + frame(4, struct.pack(">I", 3)) + frame(2) + frame(1)
              + frame(6, requests) + frame(7, struct.pack(">II", 0, 0) + b"x" * 64) + frame(8, requests)
              + frame(9, b"\x1a\xe1") + frame(13, struct.pack(">I", 1)) + frame(14) + frame(15)
              + frame(16, requests) + frame(17, struct.pack(">I", 2)) + frame(20, b"\x00" + bencode({"m": {}}))
              + b"\x00\x00\x00\x00" + frame(21, b"\x00" * 8) + frame(0) + frame(3))
    write("FuzzPeerWire", "session", bytes([0, 7, 200, 1, 68]) + stream)
    write("FuzzPeerWire", "byte-by-byte", bytes([0, 0, 0, 0, 0]) + stream[:200])
    write("FuzzPeerWire", "small-limit", bytes([3, 255, 255, 255, 255]) + handshake() + frame(4, b"\x00\x00\x00\x01")
          + frame(5, b"\xff" * 16))
    write("FuzzPeerWire", "messages-only", bytes([0, 16, 16, 16, 16]) + frame(0) + frame(6, requests) + frame(5, b""))

    # Peer state machine: piece count (2 bytes), piece-length choice, fast, extension protocol, queue
    # bounds, then steps of (time byte, operation byte, operands).
    config = struct.pack(">H", 16) + bytes([0, 1, 1, 8, 4])
    receive = lambda data: bytes([10, 0]) + data  # operation 0: a frame from the input
    built = lambda kind, *operands: bytes([1, 4, 0, 0, kind]) + bytes(operands)  # operation 4: a built message
    script = (config + receive(frame(5, b"\xff\xff")) + receive(frame(1)) + bytes([5, 8, 2, 0])
              + bytes([5, 8, 3, 4]) + receive(frame(7, struct.pack(">II", 2, 0) + b"\x00" * 16384))
              + bytes([0, 12]) + receive(frame(2)) + receive(frame(6, struct.pack(">III", 1, 0, 16384)))
              + bytes([0, 14, 0]) + receive(frame(6, struct.pack(">III", 2, 16384, 16384))) + bytes([0, 15, 0])
              + bytes([0, 10, 0]) + built(8, 3, 4) + bytes([0, 11]) + receive(frame(0)) + receive(frame(20, b"\x00de")))
    write("FuzzPeerStateMachine", "fast-session", script)
    plain = struct.pack(">H", 40) + bytes([2, 0, 0, 64, 16])
    write("FuzzPeerStateMachine", "plain-session",
          plain + receive(frame(4, struct.pack(">I", 1))) + bytes([0, 8, 1, 0]) + receive(frame(1))
          + bytes([0, 8, 1, 0]) + receive(frame(0)) + built(9) + built(13, 0xff, 1))

    # BEP 52 hash messages: the id byte (0, 1, 2: 21, 22, 23), then the payload.
    root = bytes(range(32))
    def hash_header(base, index, length, proof):
        return root + struct.pack(">IIII", base, index, length, proof)
    write("FuzzHashMessages", "request", bytes([0]) + hash_header(2, 0, 512, 3))
    write("FuzzHashMessages", "hashes", bytes([1]) + hash_header(0, 8, 4, 2) + bytes(range(6 * 32)))
    write("FuzzHashMessages", "reject", bytes([2]) + hash_header(1, 16, 16, 0))
    write("FuzzHashMessages", "piece-layer-request", bytes([0]) + hash_header(0, 0, 64, 5))
    write("FuzzHashMessages", "uncle-request", bytes([0]) + hash_header(1, 4, 2, 4))
    # The block layer of the target's second file, and its true leaves 4..<8 (a failed piece settled).
    write("FuzzHashMessages", "block-layer-request", bytes([0]) + hash_header(0, 4, 4, 5))
    true_leaves = bytes(((j * 37 + 11) & 0xFF) if j < 35 * 32 else 0 for j in range(128, 256))
    write("FuzzHashMessages", "block-layer-padding", bytes([0]) + hash_header(0, 44, 4, 5))
    write("FuzzHashMessages", "block-hashes", bytes([1]) + hash_header(0, 4, 4, 0) + true_leaves)

    # Extension payloads.
    write("FuzzExtensions", "handshake", bencode({
        "m": {"ut_metadata": 3, "ut_pex": 1, "lt_donthave": 7, "upload_only": 0}, "v": "libtorrent 2.0.9.0",
        "p": 6881, "reqq": 500, "metadata_size": 31235, "yourip": b"\x7f\x00\x00\x01", "upload_only": 1}))
    write("FuzzExtensions", "metadata-request", bencode({"msg_type": 0, "piece": 0}))
    write("FuzzExtensions", "metadata-reject", bencode({"msg_type": 2, "piece": 1}))
    write("FuzzExtensions", "metadata-data",
          bencode({"msg_type": 1, "piece": 0, "total_size": 300}) + bencode({"name": "x", "length": 1})[:300])
    write("FuzzExtensions", "pex", bencode({
        "added": b"\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x02\x1a\xe2", "added.f": b"\x01\x10",
        "added6": b"\x00" * 15 + b"\x01\x1a\xe1", "added6.f": b"\x02",
        "dropped": b"\x7f\x00\x00\x03\x1a\xe3", "dropped6": b""}))

    # HTTP tracker replies (the scrape target's info-hash is 0xAA * 20).
    write("FuzzHTTPTracker", "compact", bencode({
        "interval": 1800, "min interval": 60, "complete": 3, "incomplete": 2, "downloaded": 9,
        "tracker id": "abc", "peers": b"\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x02\x1a\xe2",
        "peers6": b"\x00" * 15 + b"\x01\x1a\xe1"}))
    write("FuzzHTTPTracker", "dictionary-peers", bencode({
        "interval": 900, "warning message": "slow down", "peers": [
            {"ip": "127.0.0.1", "port": 6881, "peer id": b"-XX0001-" + b"0" * 12},
            {"ip": "::1", "port": 6882}, {"ip": "localhost", "port": 6883}, {"ip": "127.0.0.2", "port": 0}]}))
    write("FuzzHTTPTracker", "failure", bencode({"failure reason": "unregistered torrent"}))
    write("FuzzHTTPTracker", "scrape", bencode({"files": {b"\xaa" * 20: {"complete": 5, "downloaded": 50,
                                                                            "incomplete": 10}}}))
    write("FuzzHTTPTracker", "scrape-flags", bencode({"files": {b"\xaa" * 20: {"complete": 1, "downloaded": 2,
                                                                                  "incomplete": 3}},
                                                     "flags": {"min_request_interval": 900}}))
    write("FuzzHTTPTracker", "address", b"[::1]:6881")
    write("FuzzHTTPTracker", "announce-url", b"http://127.0.0.1:6969/announce?passkey=x")
    write("FuzzHTTPTracker", "redirect-https", b"https://127.0.0.1:8443/announce?passkey=x")
    write("FuzzHTTPTracker", "redirect-path", b"/scrape?info_hash=%AA")

    # Web seed responses: offset and length asked (2 bytes each, length + 1), the head, body chunk sizes.
    def web_seed(offset, length, head, chunks=b"\x01\x02\x03"):
        return offset.to_bytes(2, "big") + (length - 1).to_bytes(2, "big") + head + b"\r\n\r\n" + chunks
    write("FuzzWebSeed", "partial", web_seed(
        100, 200, b"206\r\nContent-Range: bytes 100-299/5000\r\nContent-Length: 200"))
    write("FuzzWebSeed", "whole-file", web_seed(0, 300, b"200\r\nContent-Length: 1000"))
    write("FuzzWebSeed", "ignores-range", web_seed(7, 300, b"200"))
    write("FuzzWebSeed", "redirect", web_seed(0, 10, b"302\r\nLocation: /elsewhere/file"))
    write("FuzzWebSeed", "busy", web_seed(0, 10, b"503\r\nRetry-After: 120"))
    write("FuzzWebSeed", "wrong-range", web_seed(5, 10, b"206\r\nContent-Range: bytes 0-9/*"))

    # UDP tracker replies: choice byte (action, bit 7 for IPv6), scrape count, datagram.
    tid = b"\x12\x34\x56\x78"
    write("FuzzUDPTracker", "connect", bytes([0, 0]) + struct.pack(">I", 0) + tid + struct.pack(">Q", 0x1122334455667788))
    write("FuzzUDPTracker", "announce", bytes([1, 0]) + struct.pack(">I", 1) + tid + struct.pack(">iii", 1800, 2, 3)
          + b"\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x02\x1a\xe2")
    write("FuzzUDPTracker", "announce6", bytes([0x81, 0]) + struct.pack(">I", 1) + tid
          + struct.pack(">iii", 1800, -1, 3) + b"\x00" * 15 + b"\x01\x1a\xe1")
    write("FuzzUDPTracker", "scrape", bytes([2, 2]) + struct.pack(">I", 2) + tid + struct.pack(">III", 5, 50, 10) * 2)
    write("FuzzUDPTracker", "error", bytes([1, 0]) + struct.pack(">I", 3) + tid + b"torrent not registered")

    # DHT KRPC packets: BEP 5's examples, and a response with nodes of both families and our address.
    a, m = b"abcdefghij0123456789", b"mnopqrstuvwxyz123456"
    write("FuzzKRPC", "ping", bencode({"t": "aa", "y": "q", "q": "ping", "a": {"id": a}}))
    write("FuzzKRPC", "pong", bencode({"t": "aa", "y": "r", "r": {"id": m}}))
    write("FuzzKRPC", "error", bencode({"t": "aa", "y": "e", "e": [201, "A Generic Error Ocurred"]}))
    write("FuzzKRPC", "find_node", bencode({"t": "aa", "y": "q", "q": "find_node", "a": {"id": a, "target": m}}))
    write("FuzzKRPC", "get_peers", bencode({"t": "aa", "y": "q", "q": "get_peers", "a": {"id": a, "info_hash": m}}))
    write("FuzzKRPC", "values", bencode({"t": "aa", "y": "r", "r": {"id": a, "token": "aoeusnth",
                                                                   "values": [b"axje.u", b"idhtnm"]}}))
    write("FuzzKRPC", "announce_peer", bencode({"t": "aa", "y": "q", "q": "announce_peer",
                                                "a": {"id": a, "implied_port": 1, "info_hash": m, "port": 6881,
                                                      "token": "aoeusnth"}}))
    write("FuzzKRPC", "nodes", bencode({"t": "aa", "y": "r", "ip": b"\x7f\x00\x00\x01\x1a\xe1",
                                        "r": {"id": a, "nodes": m + b"\x7f\x00\x00\x02\x1a\xe1",
                                              "nodes6": a + b"\x00" * 15 + b"\x01\x00\x07"}}))

    # DHT node scripts (DHTNodeFuzzTarget): a step is an operation byte (0 packet, 1-2 answer to one of
    # the node's queries, 3-4 clock, 5 lookup) and its choices.
    def lookup(get_peers=1, target=3, port=50, seeds=(0, 1, 2, 3)):
        return bytes([5, get_peers, target, 1, port, len(seeds)] + list(seeds))

    def answer(index=0, sender=7, nodes=(), values=(), token=b"tk"):
        out = bytes([1]) + struct.pack(">H", index) + bytes([1, 1, 1, sender, len(nodes)])
        for node_id, address in nodes:
            out += bytes([node_id, address])
        out += bytes([len(values)])
        for host, port in values:
            out += bytes([host, port])
        out += bytes([1]) + struct.pack(">H", len(token)) + token if token is not None else bytes([0])
        return out + bytes([2])

    ping = bencode({"t": "aa", "y": "q", "q": "ping", "a": {"id": a}})
    deep = (lookup() + answer(nodes=[(9, 4), (10, 5), (11, 6), (140, 7)], values=[(9, 80), (10, 81)])
            + answer(index=1, nodes=[(12, 8), (13, 9)]) + answer(index=0, sender=0) + bytes([3, 30, 3, 60])
            + answer(index=2) + bytes([4, 255, 3, 100]))
    write("FuzzDHTNode", "lookup", bytes([0]) + deep)
    write("FuzzDHTNode", "read_only", bytes([1]) + deep)
    write("FuzzDHTNode", "queries", bytes([0]) + (bytes([0, 3]) + struct.pack(">H", len(ping)) + ping) * 20
          + lookup(get_peers=0, seeds=(3,)) + answer() + bytes([3, 50]))
    # FuzzMSEHandshake: mode byte, chunk byte, stream (see the target).
    vc = bytes(8)
    write("FuzzMSEHandshake", "negotiation_rc4", bytes([0, 40]) + vc + struct.pack(">IH", 3, 0) + struct.pack(">H", 68)
          + handshake())
    write("FuzzMSEHandshake", "negotiation_padded", bytes([4, 7]) + vc + struct.pack(">IH", 2, 512) + bytes(512)
          + struct.pack(">H", 0) + frame(2))
    write("FuzzMSEHandshake", "negotiation_bad_pad", bytes([0, 255]) + vc + struct.pack(">IH", 3, 600) + bytes(600))
    write("FuzzMSEHandshake", "plaintext", bytes([3, 19]) + handshake() + frame(2))
    write("FuzzMSEHandshake", "garbage_key", bytes([1, 95]) + bytes(range(256)) * 3)
    write("FuzzDHTNode", "many_lookups", bytes([0]) + b"".join(lookup(target=t) for t in range(40)) + bytes([4, 200]))

    # The RPC: request bodies (even first byte) and Host/Authorization/session id headers (odd).
    import base64
    import json
    requests = {
        "get": {"method": "torrent-get", "arguments": {"fields": ["id", "name", "status", "files", "fileStats",
                                                                   "trackerStats", "peers", "percentDone"],
                                                       "ids": [1, "2222222222222222222222222222222222222222"]}},
        "get_table": {"method": "torrent-get", "arguments": {"fields": ["id", "eta"], "format": "table",
                                                             "ids": "recently-active"}, "tag": 5},
        "add": {"method": "torrent-add", "arguments": {"metainfo": base64.b64encode(b"d4:infod4:name1:xee").decode(),
                                                       "paused": True, "files-unwanted": [0], "priority-high": [1]}},
        "add_magnet": {"method": "torrent-add", "arguments": {"filename": "magnet:?xt=urn:btih:" + "a" * 40}},
        "set": {"method": "torrent-set", "arguments": {"ids": [1], "files-wanted": [0], "downloadLimit": 10,
                                                       "uploadLimited": False}},
        "session_set": {"method": "session-set", "arguments": {"speed-limit-down": 5, "seedRatioLimit": 1.5,
                                                               "alt-speed-up": 1}},
        "remove": {"method": "torrent-remove", "arguments": {"ids": 3, "delete-local-data": True}},
        "stats": {"method": "session-stats"},
    }
    for name, body in requests.items():
        write("FuzzRPC", name, bytes([0]) + json.dumps(body).encode())
    write("FuzzRPC", "deep", bytes([0]) + b"[" * 40 + b"]" * 40)
    auth = b"Basic " + base64.b64encode(b"u:p")
    write("FuzzRPC", "headers_ok", bytes([1]) + b"127.0.0.1:9091\n" + auth + b"\nS")
    write("FuzzRPC", "headers_host", bytes([1]) + b"nas.lan\n" + auth + b"\nT")
    write("FuzzRPC", "headers_v6", bytes([1]) + b"[::1]:9091\nBasic !!\nS")


if __name__ == "__main__":
    main()
