#!/usr/bin/env python3
"""Drives btq's Transmission RPC with the Python transmission-rpc client (PyPI), which checks the types
of what it is given. Usage: rpc_client.py PORT USER PASSWORD TORRENT_FILE DOWNLOAD_DIR MAGNET
Prints one line per step and `ok` at the end; any failure raises (exit status 1)."""
import sys
import time

import transmission_rpc


def wait(what, condition, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise SystemExit("timed out waiting until " + what)


def main():
    port, user, password, torrent_file, download_dir, magnet = sys.argv[1:7]
    client = transmission_rpc.Client(host="127.0.0.1", port=int(port), username=user, password=password, timeout=30)
    session = client.get_session()
    print("session: rpc version", session.rpc_version, "download dir", session.download_dir)
    assert isinstance(session.rpc_version, int) and session.rpc_version >= 14
    # The seed queue turned off is btq's unlimited; turned on again without a size, its default.
    client.set_session(seed_queue_enabled=False)
    assert client.get_session().seed_queue_enabled is False
    client.set_session(seed_queue_enabled=True)
    again = client.get_session()
    assert again.seed_queue_enabled is True and again.seed_queue_size == 3, (again.seed_queue_size,)
    client.set_session(encryption="required")
    assert client.get_session().encryption == "required"
    client.set_session(encryption="preferred")
    assert client.get_session().encryption == "preferred"
    with open(torrent_file, "rb") as f:
        added = client.add_torrent(f, download_dir=download_dir, paused=True)
    print("added", added.id, added.name, added.hashString)
    assert isinstance(added.id, int)
    torrent = client.get_torrent(added.id)
    assert torrent.hashString == added.hashString
    assert torrent.status == "stopped", torrent.status
    assert isinstance(torrent.total_size, int) and torrent.total_size > 0
    assert 0 <= torrent.percent_done <= 1
    files = torrent.get_files()
    print("files", [(f.name, f.size, f.completed, f.selected, f.priority) for f in files])
    assert files and all(isinstance(f.size, int) for f in files)

    client.change_torrent(added.id, files_unwanted=[0])
    assert client.get_torrent(added.id).get_files()[0].selected is False
    client.change_torrent(added.id, files_wanted=[0])
    assert client.get_torrent(added.id).get_files()[0].selected is True

    client.start_torrent(added.id)
    wait("it downloads", lambda: client.get_torrent(added.id).percent_done == 1.0, timeout=120)
    print("downloaded; status", client.get_torrent(added.id).status)
    client.stop_torrent(added.id)
    assert client.get_torrent(added.id).status == "stopped"
    client.verify_torrent(added.id)
    wait("the check ends", lambda: client.get_torrent(added.id).status != "checking")
    client.start_torrent(added.id)

    listed = client.get_torrents()
    print("torrents", [(t.id, t.name, t.status) for t in listed])
    assert any(t.id == added.id for t in listed)
    stats = client.session_stats()
    print("stats: downloaded", stats.current_stats.downloaded_bytes, "torrents", stats.torrent_count)
    assert stats.current_stats.downloaded_bytes >= torrent.total_size
    free = client.free_space(download_dir)
    assert isinstance(free, int) and free > 0

    by_magnet = client.add_torrent(magnet, download_dir=download_dir, paused=True)
    print("magnet", by_magnet.id, by_magnet.hashString)
    client.remove_torrent(by_magnet.id)
    client.remove_torrent(added.id, delete_data=True)
    wait("it is gone", lambda: all(t.id != added.id for t in client.get_torrents()))
    print("ok")


if __name__ == "__main__":
    main()
