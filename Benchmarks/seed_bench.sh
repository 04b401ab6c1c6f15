#!/usr/bin/env bash
# seed_bench.sh -- how fast btq seeds: btq (the queue daemon, data in place) is the only seed of one
# file, and reference clients download it from btq, one at a time.
#
# Usage (as root, or a user allowed to make user namespaces):
#     Benchmarks/seed_bench.sh [--size-mib 256] [--clients libtorrent,transmission] [--btq PATH]
#                              [--work DIR] [--timeout 300]
#
# What it does:
#  1. builds the release binary (`swift build -c release --product btq`) unless --btq is given;
#  2. makes a file of --size-mib MiB of random bytes and a torrent of it (1 MiB pieces, no tracker)
#     with `btq create`, in --work (default: a fresh temporary folder, removed afterwards);
#  3. re-runs itself inside `unshare --net --pid --fork --mount-proc`: a network namespace whose only
#     interface is lo, and a PID namespace (everything dies with the run);
#  4. `btq add` + `btq run --port 6881 --bind-address 127.0.0.1` with its own database: btq checks the
#     data and seeds;
#  5. each client downloads into an empty folder, DHT/LSD/PEX/UPnP/NAT-PMP off, on 127.0.0.1:
#       libtorrent    Tests/EndToEndTests/Support/lt_seed.py leech --peer 127.0.0.1:6881 (it dials btq)
#       transmission  transmission-cli (it never dials 127.0.0.1: btq's daemon is restarted with
#                     --peer pointing at it, and dials it; its progress is resumed from the database)
#     timed from the client's start until every piece is verified, then compared byte for byte;
#  6. prints seconds and MB/s (10^6 bytes) per client. Transmission waits several seconds before it
#     requests anything (its own timers), which its figure includes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
SIZE_MIB=256
CLIENTS="libtorrent,transmission"
BTQ=""
WORK=""
TIMEOUT=300
while [[ $# -gt 0 ]]; do
    case "$1" in
        --size-mib) SIZE_MIB="$2"; shift 2 ;;
        --clients) CLIENTS="$2"; shift 2 ;;
        --btq) BTQ="$2"; shift 2 ;;
        --work) WORK="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done

if [[ "${SEED_BENCH_NETNS:-}" != 1 ]]; then
    if [[ -z "$BTQ" ]]; then
        (cd "$repo" && swift build -c release --product btq 2>&1 | grep -E "error|warning:|Build complete" || true)
        BTQ="$(cd "$repo" && swift build -c release --show-bin-path)/btq"
    fi
    [[ -x "$BTQ" ]] || { echo "no btq binary at $BTQ" >&2; exit 1; }
    cleanup=0
    if [[ -z "$WORK" ]]; then WORK=$(mktemp -d -t btq-seed-bench-XXXXXX); cleanup=1; fi
    mkdir -p "$WORK/data"
    head -c $((SIZE_MIB << 20)) /dev/urandom > "$WORK/data/seed-bench.bin"
    "$BTQ" create "$WORK/data/seed-bench.bin" -o "$WORK/seed-bench.torrent" --piece-size 1M --force > /dev/null
    status=0
    for ns in "unshare --net --pid --fork --mount-proc" \
        "unshare --net --map-current-user --keep-caps --pid --fork --mount-proc"; do
        if $ns true 2>/dev/null; then
            SEED_BENCH_NETNS=1 $ns "$0" --size-mib "$SIZE_MIB" --clients "$CLIENTS" --btq "$BTQ" --work "$WORK" \
                --timeout "$TIMEOUT" || status=$?
            [[ $cleanup == 1 ]] && rm -rf "$WORK"
            exit "$status"
        fi
    done
    echo "cannot make a loopback-only network namespace; not running" >&2
    exit 1
fi

ip link set lo up
export BTQ_DB="$WORK/seeder.sqlite"
TORRENT="$WORK/seed-bench.torrent"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
now() { date +%s.%N; }
wait_for() {  # wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s
    local limit=$(($1 * 10)); shift
    for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.1; done
    return 1
}
seeding() { "$BTQ" list --state seeding --json | grep -q '"id" : 1'; }
start_daemon() {
    "$BTQ" run --port 6881 --bind-address 127.0.0.1 "$@" >> "$WORK/daemon.log" 2>&1 &
    daemon=$!
    pids+=("$daemon")
    wait_for 120 seeding || { echo "btq did not start seeding" >&2; cat "$WORK/daemon.log" >&2; exit 1; }
}
stop_daemon() { kill -INT "$daemon"; wait "$daemon" || true; }

"$BTQ" config set dht off > /dev/null   # no DHT node: nothing but the leechers' traffic
"$BTQ" add "$TORRENT" --dir "$WORK/data" > /dev/null
start_daemon
printf '%-13s %10s %10s  %s\n' client seconds MB/s verify
IFS=, read -ra clients <<< "$CLIENTS"
for client in "${clients[@]}"; do
    out="$WORK/out-$client"
    rm -rf "$out"; mkdir -p "$out"
    case "$client" in
        libtorrent)
            start=$(now)
            /usr/bin/python3 "$repo/Tests/EndToEndTests/Support/lt_seed.py" leech --port 6882 --out "$out" \
                --done "$out.done" --peer 127.0.0.1:6881 --timeout "$TIMEOUT" "$TORRENT" > "$out.log" 2>&1 &
            leecher=$!
            pids+=("$leecher")
            wait_for "$TIMEOUT" test -f "$out.done" || true
            end=$(now)
            kill "$leecher" 2>/dev/null || true ;;
        transmission)
            mkdir -p "$out.conf"
            cat > "$out.conf/settings.json" <<JSON
{
  "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
  "port-forwarding-enabled": false, "blocklist-enabled": false,
  "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
  "peer-port": 6883, "peer-port-random-on-start": false, "rpc-enabled": false,
  "speed-limit-down-enabled": false, "speed-limit-up-enabled": false, "alt-speed-enabled": false,
  "download-dir": "$out", "incomplete-dir-enabled": false, "watch-dir-enabled": false,
  "script-torrent-done-enabled": false, "message-level": 1
}
JSON
            printf '#!/bin/sh\ntouch "%s"\n' "$out.done" > "$out.hook"
            chmod +x "$out.hook"
            start=$(now)
            transmission-cli -g "$out.conf" -w "$out" -p 6883 -M -B -D -U -f "$out.hook" "$TORRENT" \
                > "$out.log" 2>&1 &
            leecher=$!
            pids+=("$leecher")
            wait_for 30 sh -c "ss -Hltn 'sport = :6883' | grep -q ." || true
            stop_daemon
            start_daemon --peer 127.0.0.1:6883
            wait_for "$TIMEOUT" test -f "$out.done" || true
            end=$(now)
            kill -INT "$leecher" 2>/dev/null || true ;;
        *) echo "unknown client $client" >&2; continue ;;
    esac
    if cmp -s "$WORK/data/seed-bench.bin" "$out/seed-bench.bin"; then verdict=OK; else verdict=FAIL; fi
    awk -v s="$start" -v e="$end" -v c="$client" -v v="$verdict" -v b=$((SIZE_MIB << 20)) \
        'BEGIN { t = e - s; printf "%-13s %10.2f %10.1f  %s\n", c, t, b / t / 1e6, v }'
done
stop_daemon
