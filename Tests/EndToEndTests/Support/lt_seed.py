#!/usr/bin/python3
"""lt_seed.py -- a libtorrent peer for btq's end-to-end tests (127.0.0.1 and ::1 only).

Run it with Debian's /usr/bin/python3: python3-libtorrent lives in its dist-packages.

  lt_seed.py seed  --port P --data DIR --ready FILE [--have BITS --work DIR]
                   [--upload-rate BYTES_PER_S] [--high-performance] [--dial-file FILE]
                   [--peer HOST:PORT]... [--pex] [--keep-redundant] [--listen ADDR]...
                   [--status FILE] [--upload-log FILE] [--encryption forced|disabled] [--timeout S]
                   [--transport tcp|utp|both] TORRENT...
  lt_seed.py leech --port P --out DIR --done FILE [--peer HOST:PORT]... [--listen ADDR]...
                   [--status FILE] [--encryption forced|disabled] [--timeout S]
                   [--transport tcp|utp|both] TORRENT

seed:  seeds the torrents from DIR (their save path) and writes FILE (JSON) once every
       torrent is hash-checked: all pieces present, or with --have exactly the pieces
       marked '1' in BITS (one character per piece). For --have the data is copied to
       WORK/data first, with the pieces marked '0' overwritten by zeros, so libtorrent's
       own check finds which pieces it holds; the torrent is in upload mode, so two
       partial seeders never fill each other's gaps. Exits 1 if the check disagrees.
       --high-performance starts from libtorrent's high_performance_seed preset (benchmarks).
       On SIGUSR1 it also dials every HOST:PORT listed in --dial-file (for leechers that
       never dial 127.0.0.1 themselves, like Transmission). --peer HOST:PORT is dialled
       (again every few seconds until connected), as for leech.
--upload-log FILE: one line `PIECE BLOCK` appended (and flushed) for every block it has sent,
       in the order sent (libtorrent answers one peer's requests in the order they came).
--pex: peer exchange (ut_pex) on. --keep-redundant: connections between two upload-only
       peers are kept (libtorrent closes them as redundant otherwise).
leech: downloads TORRENT (a .torrent file, or a magnet link: the metadata and, for a v2
       torrent, the piece layers then come from the peers) into DIR from the tracker's peers and the given --peer
       addresses (dialled again every few seconds until connected), writes FILE (JSON)
       when every piece is verified, then keeps running (seeding) until stopped.

Both: listen on 127.0.0.1:P (or on each --listen ADDR, 127.0.0.1 or ::1, at port P) and connect
from 127.0.0.1 only (from the loopback address of the peer's family when an address to listen on
or to dial is IPv6; --peer [::1]:PORT for those); DHT, LSD, UPnP, NAT-PMP,
PEX (unless --pex) off; TCP only unless --transport utp (uTP only, in and out) or both; plaintext only (no MSE handshake) unless --encryption forced: MSE/PE
both ways with an RC4 payload only (in/out_enc_policy forced, allowed_enc_level rc4), plaintext
peers refused; several connections per IP (every
peer is 127.0.0.1). --status FILE is rewritten (atomically) every 0.5 s with JSON:
torrents, their state, progress, pieces, payload totals and peers. SIGUSR1 re-announces
every torrent at once. Exits on SIGTERM/SIGINT, after --timeout seconds (default 600),
or when its parent process goes away, so a crashed test leaves nothing behind.
"""
import argparse, json, os, shutil, signal, sys, time
import libtorrent as lt


def endpoint(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def settings(port, high_performance=False, keep_redundant=False, listen=("127.0.0.1",), ipv6=False,
             upload_alerts=False, encryption="disabled", transport="tcp"):
    for host in listen:
        if host not in ("127.0.0.1", "::1"):
            sys.exit("lt_seed: --listen takes 127.0.0.1 or ::1, not %s" % host)
    s = lt.high_performance_seed() if high_performance else lt.default_settings()
    s.update({
        "listen_interfaces": ",".join(endpoint(h, port) for h in listen),
        # A loopback destination gets a loopback source: with IPv6 in play the system picks it, as
        # one outgoing address cannot serve both families.
        "outgoing_interfaces": "" if ipv6 else "127.0.0.1",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "enable_incoming_tcp": True, "enable_outgoing_tcp": True,
        "allow_multiple_connections_per_ip": True,
        "in_enc_policy": 2, "out_enc_policy": 2,      # pe_disabled: plain BitTorrent handshakes
        "upload_rate_limit": 0, "download_rate_limit": 0,
        "unchoke_slots_limit": -1, "connections_limit": 200,
        "seeding_outgoing_connections": True,
        "min_reconnect_time": 1, "max_failcount": 10,
        "auto_manage_startup": 0, "active_downloads": -1, "active_seeds": -1, "active_limit": -1,
        "user_agent": "btq-e2e/libtorrent-" + lt.__version__,
        "alert_mask": lt.alert_category.error | lt.alert_category.status,
    })
    if encryption == "forced":
        # pe_forced (0) both ways, pe_rc4 (2) as the only payload method.
        s.update({"in_enc_policy": 0, "out_enc_policy": 0, "allowed_enc_level": 2, "prefer_rc4": True})
    if transport != "tcp":
        s.update({"enable_incoming_utp": True, "enable_outgoing_utp": True})
    if transport == "utp":
        s.update({"enable_incoming_tcp": False, "enable_outgoing_tcp": False})
    if keep_redundant:
        s.update({"close_redundant_connections": False})
    if upload_alerts:
        s.update({"alert_mask": s["alert_mask"] | lt.alert_category.upload, "alert_queue_size": 100000})
    if high_performance:
        s.update({"send_socket_buffer_size": 4 << 20, "recv_socket_buffer_size": 4 << 20})
    return s


def add(ses, path, save_path, upload_mode=False, pex=False):
    if path.startswith("magnet:"):
        p = lt.parse_magnet_uri(path)
    else:
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(path)
    p.save_path = save_path
    p.flags &= ~lt.torrent_flags.auto_managed
    p.flags &= ~lt.torrent_flags.paused
    p.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
    if not pex:
        p.flags |= lt.torrent_flags.disable_pex
    if upload_mode:
        p.flags |= lt.torrent_flags.upload_mode
    return ses.add_torrent(p)


def partial_copy(torrent, src, dst, have):
    """Copies the torrent's files from src to dst, zeroing every piece whose bit is '0'."""
    ti = lt.torrent_info(torrent)
    fs = ti.files()
    if len(have) != ti.num_pieces() or set(have) - set("01"):
        sys.exit("lt_seed: --have needs %d characters of 0/1, got %d" % (ti.num_pieces(), len(have)))
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        rel = fs.file_path(i)
        os.makedirs(os.path.dirname(os.path.join(dst, rel)) or dst, exist_ok=True)
        shutil.copyfile(os.path.join(src, rel), os.path.join(dst, rel))
    for piece, bit in enumerate(have):
        if bit == "1":
            continue
        for sl in ti.map_block(piece, 0, ti.piece_size(piece)):
            if fs.file_flags(sl.file_index) & lt.file_storage.flag_pad_file or sl.size == 0:
                continue
            with open(os.path.join(dst, fs.file_path(sl.file_index)), "r+b") as f:
                f.seek(sl.offset)
                f.write(b"\0" * sl.size)


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def status(handles):
    out = []
    for name, h in handles:
        st = h.status()
        peers = []
        for pi in h.get_peer_info():
            client = pi.client.decode("utf-8", "replace") if isinstance(pi.client, bytes) else str(pi.client)
            peers.append({"ip": pi.ip[0], "port": pi.ip[1], "client": client, "pid": str(pi.pid),
                          "seed": bool(pi.flags & pi.seed), "uploaded": pi.total_upload,
                          "downloaded": pi.total_download, "hashfails": pi.num_hashfails,
                          "utp": bool(pi.flags & getattr(pi, "utp_socket", 1 << 17)), "rc4": bool(pi.flags & pi.rc4_encrypted)})
        out.append({"name": name, "state": str(st.state), "progress": st.progress,
                    "pieces": "".join("1" if x else "0" for x in st.pieces),
                    "num_pieces": st.num_pieces, "is_seeding": st.is_seeding, "is_finished": st.is_finished,
                    "uploaded": st.total_payload_upload, "downloaded": st.total_payload_download,
                    "failed_bytes": st.total_failed_bytes, "error": st.errc.message() if st.errc.value() else "",
                    "peers": peers})
    return {"pid": os.getpid(), "time": time.time(), "torrents": out}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    sp = sub.add_parser("seed")
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--data", required=True)
    sp.add_argument("--ready", required=True)
    sp.add_argument("--have")
    sp.add_argument("--work")
    sp.add_argument("--upload-rate", type=int, default=0)
    sp.add_argument("--high-performance", action="store_true")
    sp.add_argument("--dial-file")
    sp.add_argument("--peer", action="append", default=[])
    sp.add_argument("--pex", action="store_true")
    sp.add_argument("--keep-redundant", action="store_true")
    sp.add_argument("--listen", action="append", default=[])
    sp.add_argument("--status")
    sp.add_argument("--upload-log")
    sp.add_argument("--timeout", type=float, default=600)
    sp.add_argument("--encryption", choices=["forced", "disabled"], default="disabled")
    sp.add_argument("--transport", choices=["tcp", "utp", "both"], default="tcp")
    sp.add_argument("torrents", nargs="+")
    lp = sub.add_parser("leech")
    lp.add_argument("--port", type=int, required=True)
    lp.add_argument("--out", required=True)
    lp.add_argument("--done", required=True)
    lp.add_argument("--peer", action="append", default=[])
    lp.add_argument("--listen", action="append", default=[])
    lp.add_argument("--status")
    lp.add_argument("--timeout", type=float, default=600)
    lp.add_argument("--encryption", choices=["forced", "disabled"], default="disabled")
    lp.add_argument("--transport", choices=["tcp", "utp", "both"], default="tcp")
    lp.add_argument("torrents", nargs=1)
    a = ap.parse_args()

    listen = a.listen or ["127.0.0.1"]
    peers = []
    for text in getattr(a, "peer", []):
        host, _, port = text.rpartition(":")
        peers.append((host.strip("[]"), int(port)))
    ipv6 = any(":" in h for h in listen) or any(":" in h for h, _ in peers)

    parent = os.getppid()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    reannounce = []
    signal.signal(signal.SIGUSR1, lambda *_: reannounce.append(1))

    if a.mode == "seed":
        data = a.data
        if a.have is not None:
            if len(a.torrents) != 1 or not a.work:
                sys.exit("lt_seed: --have needs exactly one torrent and --work")
            data = os.path.join(a.work, "data")
            partial_copy(a.torrents[0], a.data, data, a.have)
        ses = lt.session(settings(a.port, a.high_performance, a.keep_redundant, listen, ipv6,
                                  upload_alerts=a.upload_log is not None, encryption=a.encryption,
                                  transport=a.transport))
        handles = [(os.path.basename(t), add(ses, t, data, upload_mode=a.have is not None, pex=a.pex))
                   for t in a.torrents]
        if a.upload_rate:
            # loopback peers are "local": the session-wide limit skips them, a torrent's own limit does not
            for _, h in handles:
                h.set_upload_limit(a.upload_rate)
        done_file = a.ready
    else:
        os.makedirs(a.out, exist_ok=True)
        ses = lt.session(settings(a.port, listen=listen, ipv6=ipv6, encryption=a.encryption, transport=a.transport))
        name = "magnet" if a.torrents[0].startswith("magnet:") else os.path.basename(a.torrents[0])
        handles = [(name, add(ses, a.torrents[0], a.out))]
        done_file = a.done
    print("[lt_seed] %s pid %d libtorrent %s on %s, %d torrent(s)" %
          (a.mode, os.getpid(), lt.__version__, ",".join(endpoint(h, a.port) for h in listen), len(handles)),
          flush=True)

    upload_log = open(a.upload_log, "a") if getattr(a, "upload_log", None) else None
    checked = set()
    t0 = time.time()
    last_status = last_dial = 0.0
    done = False
    while not stop and time.time() - t0 < a.timeout:
        if os.getppid() != parent:
            print("[lt_seed] parent went away, exiting", flush=True)
            break
        ses.wait_for_alert(100)
        for al in ses.pop_alerts():
            if isinstance(al, lt.torrent_checked_alert):
                checked.add(al.handle)
            if upload_log is not None and isinstance(al, lt.block_uploaded_alert):
                upload_log.write("%d %d\n" % (al.piece_index, al.block_index))
                upload_log.flush()
            if al.category() & lt.alert_category.error:
                print("[lt_seed] alert:", al.message(), flush=True)
        if reannounce:
            reannounce.clear()
            dial = []
            if getattr(a, "dial_file", None) and os.path.exists(a.dial_file):
                for line in open(a.dial_file).read().split():
                    host, _, port = line.rpartition(":")
                    dial.append((host.strip("[]"), int(port)))
            for _, h in handles:
                h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
                for peer in dial:
                    print("[lt_seed] dialling %s" % endpoint(*peer), flush=True)
                    h.connect_peer(peer)
        now = time.time()
        if peers and now - last_dial > 2:
            last_dial = now
            for _, h in handles:
                connected = {(p.ip[0], p.ip[1]) for p in h.get_peer_info()}
                for peer in peers:
                    if peer not in connected:
                        h.connect_peer(peer)
        if not done:
            sts = [(n, h.status()) for n, h in handles]
            errors = [(n, st.errc.message()) for n, st in sts if st.errc.value()]
            if errors:
                for n, msg in errors:
                    print("[lt_seed] ERROR %s: %s" % (n, msg), flush=True)
                sys.exit(1)
            if a.mode == "seed":
                if all(h in checked for _, h in handles) and all(
                        st.state not in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
                        for _, st in sts):
                    if a.have is not None:
                        got = "".join("1" if x else "0" for x in sts[0][1].pieces)
                        if got != a.have:
                            print("[lt_seed] ERROR: holds pieces %s, wanted %s" % (got, a.have), flush=True)
                            sys.exit(1)
                    elif not all(st.is_seeding for _, st in sts):
                        for n, st in sts:
                            print("[lt_seed] ERROR %s: data incomplete, progress %.4f" % (n, st.progress), flush=True)
                        sys.exit(1)
                    done = True
            elif sts[0][1].is_seeding or sts[0][1].is_finished:
                done = True
            if done:
                write_json(done_file, status(handles))
                print("[lt_seed] %s after %.2f s" % ("ready" if a.mode == "seed" else "complete", time.time() - t0),
                      flush=True)
        if a.status and now - last_status > 0.5:
            last_status = now
            write_json(a.status, status(handles))
    if a.status:
        write_json(a.status, status(handles))
    for _, h in handles:
        ses.remove_torrent(h)       # announces 'stopped'
    ses.pause()
    print("[lt_seed] exiting", flush=True)


main()
