#!/usr/bin/python3
"""lt_dht.py -- a small DHT network of libtorrent sessions for btq's end-to-end tests (loopback only).

Run it with Debian's /usr/bin/python3: python3-libtorrent lives in its dist-packages.

  lt_dht.py --nodes N --port P --ready FILE [--seed TORRENT]... [--data DIR]
            [--leech INFOHASH --out DIR --done FILE --leech-bootstrap HOST:PORT]
            [--bootstrap HOST:PORT] [--status FILE] [--timeout S]

Starts N libtorrent sessions with the DHT on, session i listening (TCP and UDP) on 127.0.0.(i+2):P,
each bootstrapped from session 0 (127.0.0.2:P) and, with --bootstrap, from that node too. Trackers,
LSD, UPnP, NAT-PMP, PEX and uTP are off: peers come from the DHT only.

--seed: the last session seeds each TORRENT from DIR (their save path) and announces it on the DHT.
--leech: one more session, on 127.0.0.(N+2):P and bootstrapped only from --leech-bootstrap, downloads
         the torrent of INFOHASH (a magnet without trackers: metadata and data from DHT peers) into
         DIR and writes FILE (JSON: its peers and the bytes each sent) when it has every piece.
FILE of --ready (JSON: the nodes' addresses, each one's DHT node count) is written once the first
session knows a DHT node and the seeds (if any) are checked and announced.
--status FILE is rewritten every 0.5 s with each session's DHT node count and torrents.
Exits on SIGTERM/SIGINT, after --timeout seconds (default 300), or when its parent goes away.
"""
import argparse, json, os, signal, sys, time, warnings
import libtorrent as lt

warnings.simplefilter("ignore", DeprecationWarning)


def settings(ip, port, bootstrap):
    return {
        "listen_interfaces": "%s:%d" % (ip, port),
        "outgoing_interfaces": ip,
        "enable_dht": True, "dht_bootstrap_nodes": ",".join(bootstrap),
        "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "enable_incoming_tcp": True, "enable_outgoing_tcp": True,
        "allow_multiple_connections_per_ip": True,
        # Every node is on 127.0.0.0/8: without these, libtorrent keeps one node per /24 in its table.
        "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
        "dht_ignore_dark_internet": False, "dht_prefer_verified_node_ids": False,
        "in_enc_policy": 2, "out_enc_policy": 2,
        "auto_manage_startup": 0, "active_downloads": -1, "active_seeds": -1, "active_limit": -1,
        "alert_mask": lt.alert_category.error | lt.alert_category.status | lt.alert_category.dht,
        "user_agent": "btq-e2e/libtorrent-" + lt.__version__,
    }


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--seed", action="append", default=[])
    ap.add_argument("--data")
    ap.add_argument("--leech")
    ap.add_argument("--leech-bootstrap")
    ap.add_argument("--out")
    ap.add_argument("--done")
    ap.add_argument("--bootstrap", action="append", default=[])
    ap.add_argument("--status")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    parent = os.getppid()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    ips = ["127.0.0.%d" % (i + 2) for i in range(a.nodes)]
    first = "%s:%d" % (ips[0], a.port) if ips else None
    sessions = []
    for i, ip in enumerate(ips):
        boot = ([] if i == 0 else [first]) + a.bootstrap
        sessions.append(lt.session(settings(ip, a.port, boot)))

    seeds = []
    for path in a.seed:
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(path)
        p.save_path = a.data
        p.flags &= ~lt.torrent_flags.auto_managed
        p.flags &= ~lt.torrent_flags.paused
        p.flags |= lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
        seeds.append(sessions[-1].add_torrent(p))
    leech_handle = None
    last_lookup = 0.0
    announced = not seeds
    started = time.time()
    ready_written = False
    while not stop and time.time() - started < a.timeout and os.getppid() == parent:
        for s in sessions:
            s.pop_alerts()
        counts = [s.status().dht_nodes for s in sessions]
        if not announced and all(h.status().is_seeding for h in seeds):
            for h in seeds:
                h.force_dht_announce()
            announced = True
        if not ready_written and announced and (not counts or counts[0] > 0):
            if a.leech:
                ip = "127.0.0.%d" % (a.nodes + 2)
                leecher = lt.session(settings(ip, a.port, [a.leech_bootstrap]))
                sessions.append(leecher)
                p = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + a.leech)
                p.save_path = a.out
                p.flags &= ~lt.torrent_flags.auto_managed
                p.flags &= ~lt.torrent_flags.paused
                p.flags |= lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
                leech_handle = leecher.add_torrent(p)
            write_json(a.ready, {"nodes": ["%s:%d" % (ip, a.port) for ip in ips], "dht_nodes": counts})
            ready_written = True
        # libtorrent looks a torrent up on the DHT when it is added and then every 15 minutes: a
        # leecher added before its DHT knew any node would wait that long. Ask again until it has peers.
        if leech_handle is not None and time.time() - last_lookup > 2 and leech_handle.status().num_peers == 0:
            leech_handle.force_dht_announce()
            last_lookup = time.time()
        if leech_handle is not None and a.done and not os.path.exists(a.done):
            st = leech_handle.status()
            if st.has_metadata and st.is_seeding:
                write_json(a.done, {"seconds": time.time() - started,
                                    "peers": [{"ip": pi.ip[0], "port": pi.ip[1], "downloaded": pi.total_download}
                                              for pi in leech_handle.get_peer_info()]})
        if a.status:
            write_json(a.status, {"dht_nodes": counts, "seconds": time.time() - started,
                                  "leech": None if leech_handle is None else {
                                      "progress": leech_handle.status().progress,
                                      "peers": leech_handle.status().num_peers,
                                      "has_metadata": leech_handle.status().has_metadata}})
        time.sleep(0.25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
