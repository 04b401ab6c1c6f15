#!/usr/bin/env bash
# download_bench.sh -- btq against the reference BitTorrent clients, one 1 GiB download each.
#
# Usage (as root, or a user allowed to make user namespaces):
#     Benchmarks/download_bench.sh [--size-mib 1024]
#                                  [--clients btq,libtorrent,aria2,transmission,btq-rc4,libtorrent-rc4,btq-utp,libtorrent-utp]
#                                  [--btq PATH] [--work DIR] [--timeout 600] [--rounds 3]
#                                  [--btq-b PATH]   (adds client btq-b: a second btq build, for A/B runs)
#                                  [--piece-kib 1024]  (a comma list: one set of rounds per piece size)
#                                  [--files 0]  (N > 0: the data is a folder of N files of uneven sizes)
#     Benchmarks/download_bench.sh --size-mib 256 --rounds 1     # a quick run
#     Benchmarks/download_bench.sh --clients btq,libtorrent --piece-kib 16,64,256,1024,4096,16384
#                                                                # the piece-size sweep
#     Benchmarks/download_bench.sh --clients btq-btq              # btq to btq
#     Benchmarks/download_bench.sh --size-mib 317 --files 192 --clients btq,aria2,libtorrent
#                                                                # many files: CPU per file
#
# What it does:
#  1. builds the release binary (`swift build -c release --product btq`) unless --btq is given;
#  2. makes a deterministic file of --size-mib MiB (AES-128-CTR keystream of zeros, the same bytes on
#     every machine) -- with --files N, cut into a folder of N files of uneven sizes (1 to 11 parts of
#     an even share, none on a piece boundary) -- and a v1 torrent of it for each --piece-kib size (Benchmarks/make_torrent.py, libtorrent's;
#     1 MiB pieces by default), announcing to http://127.0.0.1:6969/announce, in --work (default
#     /tmp/btq-download-bench; reused when present);
#  3. re-runs itself inside `unshare --net --pid --fork --mount-proc`: a network namespace whose only
#     interface is lo (no client can reach any network, whatever its settings) and a PID namespace
#     (everything dies with the run);
#  4. starts opentracker (127.0.0.1:6969, whitelist of the torrents) and a libtorrent seeder of every
#     torrent (Tests/EndToEndTests/Support/lt_seed.py --high-performance, 127.0.0.1:6881, TCP only);
#  5. downloads the torrent with each client in turn, each into a fresh empty folder, on its own
#     port, DHT/LSD/PEX/UPnP/NAT-PMP off and bound to 127.0.0.1:
#       btq           btq get T --dir D --port P            (done when it exits 0)
#       libtorrent    lt_seed.py leech (libtorrent defaults)  (done when every piece is verified)
#       aria2         aria2c --seed-time=0 --file-allocation=falloc ... (--on-bt-download-complete)
#       transmission  transmission-cli -f hook (it never dials 127.0.0.1: the seeder dials it)
#       btq-btq       btq get T --peer S: the seeder S is a second btq (`btq run`, its own database, the
#                     data in place, checked before the round), of a copy of the torrent with no tracker
#                     and its own info-hash (make_torrent.py --source), so neither side meets libtorrent; the
#                     seeder's CPU seconds over the round are printed after the table. Both sides keep
#                     the default `encryption prefer`: the seeder answers the leecher's offer of both with
#                     a plaintext payload (as libtorrent does), after an obfuscated MSE handshake
#       btq-btq-plain the same with `encryption disable` on both sides: plaintext, the wire's own speed
#       btq-btq-tcp   the same with `enable_utp off` on both sides: btq to btq over TCP
#       btq-rc4, libtorrent-rc4   the encrypted round (MSE/PE, RC4): btq with `encryption require`,
#                     libtorrent with --encryption forced, from a second libtorrent seeder of the same
#                     data with --encryption forced (127.0.0.1:6882), started just for these clients and
#                     stopped after each (both seeders announce, but neither side of the encrypted round
#                     can use the plaintext one, nor is the encrypted one up during plaintext rounds);
#                     compare btq-rc4 with btq for the cost of RC4 (goal: within 15%)
#       btq-utp, libtorrent-utp   the uTP round (BEP 29): btq with `enable_tcp off`, libtorrent with
#                     --transport utp, from a third libtorrent seeder of the same data with --transport utp
#                     (uTP only, in and out; 127.0.0.1:6884), started just for these clients and stopped
#                     after each; compare btq-utp with libtorrent-utp (goal: at least its speed)
#     each timed by /usr/bin/time -v, with RssAnon sampled from /proc every 50 ms
#     (Benchmarks/bench_client.py), then compared byte for byte with the source;
#  6. repeats step 5 --rounds times (default 3), each round starting with the next client, so no client
#     always runs first or always right after another one;
#  7. prints, for each piece size, a table of each client's median round: seconds from start to complete,
#     seconds to durable (complete, then every downloaded file synced; btq syncs before it reports done,
#     the others leave their writes in the page cache), MB/s (10^6 bytes),
#     CPU seconds (user+sys), the whole machine's busy CPU seconds from start to durable (the seeder's
#     and the kernel's writeback threads' included: a client that leaves its writes to the kernel
#     has them counted there; keep the machine otherwise idle), peak RSS and peak anonymous RSS (MiB), verify OK/FAIL, and every round's
#     seconds; btq's ratio to the fastest reference client and to libtorrent. A client that fails is a FAIL row; the
#     run goes on.
#
# Read the numbers as ratios within one run: the machines are shared. On virtual machines the cost of
# filling fresh page-cache pages varies several-fold from one download to the next (the host may have
# taken back memory the guest freed), which is why a client's median of several rounds is compared. libtorrent 2.0 does its disk
# I/O through mmap, so its peak RSS counts file pages; anonymous RSS is the fair memory figure.
# Results and logs stay in --work/runs/<client>/ (the downloaded data is deleted after each client).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
SIZE_MIB=1024
CLIENTS="btq,libtorrent,aria2,transmission,btq-rc4,libtorrent-rc4,btq-utp,libtorrent-utp"
BTQ=""
BTQ_B="${BTQ_B:-}"
WORK="/tmp/btq-download-bench"
TIMEOUT=600
ROUNDS=3
PIECE_KIB=1024
FILES=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --size-mib) SIZE_MIB="$2"; shift 2 ;;
        --clients) CLIENTS="$2"; shift 2 ;;
        --btq) BTQ="$2"; shift 2 ;;
        --btq-b) BTQ_B="$2"; shift 2 ;;
        --work) WORK="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --piece-kib) PIECE_KIB="$2"; shift 2 ;;
        --files) FILES="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done
[[ -n "$BTQ_B" && ",$CLIENTS," != *,btq-b,* ]] && CLIENTS="$CLIENTS,btq-b"
PY=/usr/bin/python3
SUPPORT="$repo/Tests/EndToEndTests/Support"
NAME="bench-${SIZE_MIB}MiB.bin"
[[ "$FILES" =~ ^[0-9]+$ && "$FILES" -le 10000 ]] || { echo "--files: a count from 0 to 10000" >&2; exit 64; }
# With --files, the folder the torrents are made of (cut from the file $NAME, made first).
TREE=""; [[ "$FILES" -gt 0 ]] && TREE="bench-${SIZE_MIB}MiB-${FILES}files"
DATA="$WORK/data"
pieces=(${PIECE_KIB//,/ })
for kib in "${pieces[@]}"; do
    case "$kib" in
        16|32|64|128|256|512|1024|2048|4096|8192|16384|32768) ;;
        *) echo "--piece-kib: $kib is not a power of two from 16 to 32768" >&2; exit 64 ;;
    esac
done
# The torrent of a piece size (1 MiB keeps its old name), and its copy for btq-btq: no tracker, and a
# source tag of its own, hence an info-hash no libtorrent seeds.
torrent_of() { if [[ "$1" == 1024 ]]; then echo "$WORK/$NAME.torrent"; else echo "$WORK/$NAME.$1k.torrent"; fi; }
private_torrent_of() { echo "$WORK/$NAME.$1k.btq-btq.torrent"; }
TRACKER_PORT=6969
SEED_PORT=6881

if [[ "${BTQ_BENCH_NETNS:-}" != 1 ]]; then
    mkdir -p "$DATA"
    if [[ -z "$BTQ" ]]; then
        echo "[bench] swift build -c release --product btq (log: $WORK/build.log)" >&2
        if (cd "$repo" && swift build -c release --product btq > "$WORK/build.log" 2>&1); then
            BTQ="$(cd "$repo" && swift build -c release --show-bin-path)/btq"
        else
            echo "[bench] the release build FAILED; btq's row will be FAIL:" >&2
            grep -m 5 -E "error|Error in Function" "$WORK/build.log" >&2 || tail -5 "$WORK/build.log" >&2
            BTQ="(release build failed)"
        fi
    fi
    if [[ ! -x "$BTQ" && "$CLIENTS" == *btq* ]]; then
        echo "[bench] no runnable btq ($BTQ): its row will be FAIL" >&2
    fi
    if [[ ! -f "$DATA/$NAME" || $(stat -c %s "$DATA/$NAME") -ne $((SIZE_MIB << 20)) ]]; then
        echo "[bench] writing $DATA/$NAME ($SIZE_MIB MiB, deterministic)" >&2
        # openssl dies of SIGPIPE once head has enough: ignore the pipeline's status.
        { openssl enc -aes-128-ctr -nosalt -K 00000000000000000000000000000000 \
            -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null \
            | head -c $((SIZE_MIB << 20)) > "$DATA/$NAME.tmp"; } || true
        mv "$DATA/$NAME.tmp" "$DATA/$NAME"
        rm -f "$WORK/$NAME".*torrent
        rm -rf "$DATA"/bench-"${SIZE_MIB}"MiB-*files "$WORK"/bench-"${SIZE_MIB}"MiB-*files.*torrent
    fi
    if [[ -n "$TREE" && ! -d "$DATA/$TREE" ]]; then
        echo "[bench] cutting $DATA/$TREE ($FILES files)" >&2
        rm -rf "$DATA/$TREE.tmp"; mkdir -p "$DATA/$TREE.tmp"
        "$PY" - "$DATA/$NAME" "$DATA/$TREE.tmp" "$FILES" <<'PY'
import os, sys
source, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
total = os.path.getsize(source)
weights = [(i * 37) % 11 + 1 for i in range(count)]
sizes = [total * w // sum(weights) - 4099 * (i % 3) for i, w in enumerate(weights)]
sizes[-1] = total - sum(sizes[:-1])
assert sizes[-1] > 0
with open(source, "rb") as f:
    for i, size in enumerate(sizes):
        sub = os.path.join(folder, "d%02d" % (i % 8))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%04d.bin" % i), "wb") as out:
            left = size
            while left:
                chunk = f.read(min(left, 1 << 20))
                out.write(chunk)
                left -= len(chunk)
PY
        mv "$DATA/$TREE.tmp" "$DATA/$TREE"
    fi
    # From here on the data is the folder.
    [[ -n "$TREE" ]] && NAME="$TREE"
    for kib in "${pieces[@]}"; do
        t="$(torrent_of "$kib")"
        [[ -f "$t" ]] || "$PY" "$here/make_torrent.py" "$DATA/$NAME" $((kib << 10)) "$t" \
            --tracker "http://127.0.0.1:$TRACKER_PORT/announce"
        t="$(private_torrent_of "$kib")"
        if [[ ",$CLIENTS," == *,btq-btq* && ! -f "$t" ]]; then
            "$PY" "$here/make_torrent.py" "$DATA/$NAME" $((kib << 10)) "$t" --source btq-btq
        fi
    done
    if [[ "$(id -u)" -eq 0 ]]; then
        ns=(unshare --net --pid --fork --mount-proc)
    else
        ns=(unshare --net --map-current-user --keep-caps --pid --fork --mount-proc)
    fi
    "${ns[@]}" true 2>/dev/null || { echo "[bench] cannot make a network namespace (${ns[*]}); not running" >&2; exit 1; }
    export BTQ_BENCH_NETNS=1
    # Not exec: bash stays the namespace's init, and the run ends with it.
    "${ns[@]}" env BTQ_B="$BTQ_B" "$0" --size-mib "$SIZE_MIB" --clients "$CLIENTS" --btq "$BTQ" --work "$WORK" \
        --timeout "$TIMEOUT" --rounds "$ROUNDS" --piece-kib "$PIECE_KIB" --files "$FILES"
    exit $?
fi

# ---- inside the namespace
[[ -n "$TREE" ]] && NAME="$TREE"
ip link set lo up
[[ "$(ip -o link show | wc -l)" -eq 1 ]] || { echo "[bench] the namespace has interfaces other than lo" >&2; exit 1; }
RUNS="$WORK/runs"; rm -rf "$RUNS"; mkdir -p "$RUNS"
T="$WORK/tracker"; rm -rf "$T"; mkdir -p "$T"
TORRENTS=(); for kib in "${pieces[@]}"; do TORRENTS+=("$(torrent_of "$kib")"); done
"$PY" -c 'import libtorrent as lt, sys
for t in sys.argv[1:]: print(lt.torrent_info(t).info_hashes().v1)' "${TORRENTS[@]}" > "$T/whitelist.txt"
chmod 755 "$WORK" "$T"; chmod 644 "$T/whitelist.txt"
user=nobody; [[ "$(id -u)" -eq 0 ]] || user="$(id -un)"
printf 'access.whitelist ./whitelist.txt\ntracker.rootdir %s\ntracker.user %s\n' "$T" "$user" > "$T/opentracker.conf"
(cd "$T" && exec opentracker -i 127.0.0.1 -p $TRACKER_PORT -P $TRACKER_PORT -f "$T/opentracker.conf" > "$T/log" 2>&1) &
TRACKER=$!
S="$WORK/seed"; rm -rf "$S"; mkdir -p "$S"
"$PY" "$SUPPORT/lt_seed.py" seed --high-performance --port $SEED_PORT --data "$DATA" --ready "$S/ready" \
    --status "$S/status" --dial-file "$S/dial" --timeout 7200 "${TORRENTS[@]}" > "$S/log" 2>&1 &
SEED=$!
RC4_SEED=""
RC4_PORT=$((SEED_PORT + 1))
BTQ_SEED=""
BTQ_SEED_PORT=$((SEED_PORT + 2))
UTP_SEED=""
UTP_PORT=$((SEED_PORT + 3))
cleanup() {
    kill "$SEED" "$TRACKER" $RC4_SEED $BTQ_SEED $UTP_SEED 2>/dev/null || true
    wait "$SEED" "$TRACKER" $RC4_SEED $BTQ_SEED $UTP_SEED 2>/dev/null || true
}
# The seeder of the uTP round: uTP only (TCP off both ways), up only while a -utp client runs.
start_utp_seed() {
    local R="$WORK/seed-utp"; rm -rf "$R"; mkdir -p "$R"
    "$PY" "$SUPPORT/lt_seed.py" seed --high-performance --transport utp --port $UTP_PORT --data "$DATA" \
        --ready "$R/ready" --status "$R/status" --timeout 7200 "$TORRENT" > "$R/log" 2>&1 &
    UTP_SEED=$!
    for _ in $(seq 1200); do [[ -f "$R/ready" ]] && break; kill -0 "$UTP_SEED" 2>/dev/null || break; sleep 0.1; done
    [[ -f "$R/ready" ]] || { echo "[bench] uTP seeder not ready:" >&2; cat "$R/log" >&2; }
}
stop_utp_seed() {
    [[ -n "$UTP_SEED" ]] || return 0
    kill "$UTP_SEED" 2>/dev/null || true; wait "$UTP_SEED" 2>/dev/null || true; UTP_SEED=""
}
trap cleanup EXIT
# The seeder of the encrypted round: MSE/PE with RC4 only, up only while an -rc4 client runs.
start_rc4_seed() {
    local R="$WORK/seed-rc4"; rm -rf "$R"; mkdir -p "$R"
    "$PY" "$SUPPORT/lt_seed.py" seed --high-performance --encryption forced --port $RC4_PORT --data "$DATA" \
        --ready "$R/ready" --status "$R/status" --timeout 7200 "$TORRENT" > "$R/log" 2>&1 &
    RC4_SEED=$!
    for _ in $(seq 1200); do [[ -f "$R/ready" ]] && break; kill -0 "$RC4_SEED" 2>/dev/null || break; sleep 0.1; done
    [[ -f "$R/ready" ]] || { echo "[bench] encrypted seeder not ready:" >&2; cat "$R/log" >&2; }
}
# The seeder of btq-btq: a btq daemon of the private copy, its data checked before the round starts.
start_btq_seed() {
    local R="$1/seeder"; mkdir -p "$R"
    export BTQ_DB="$R/btq.sqlite"
    "$BTQ" config set dht off > /dev/null
    [[ "$3" == btq-btq-plain ]] && "$BTQ" config set encryption disable > /dev/null
    [[ "$3" == btq-btq-tcp ]] && "$BTQ" config set enable_utp off > /dev/null
    "$BTQ" add "$(private_torrent_of "$2")" --dir "$DATA" > /dev/null
    BTQ_LOG=info "$BTQ" run --port $BTQ_SEED_PORT --bind-address 127.0.0.1 > "$R/log" 2>&1 &
    BTQ_SEED=$!
    for _ in $(seq 1200); do
        "$BTQ" list --state seeding --json 2>/dev/null | grep -q '"id" : 1' && break
        kill -0 "$BTQ_SEED" 2>/dev/null || break; sleep 0.1
    done
    unset BTQ_DB
    # utime + stime of the seeder, in clock ticks, from now on
    BTQ_SEED_TICKS=$(awk '{print $14 + $15}' "/proc/$BTQ_SEED/stat" 2>/dev/null || echo 0)
}
stop_btq_seed() {
    [[ -n "$BTQ_SEED" ]] || return 0
    local ticks
    ticks=$(awk '{print $14 + $15}' "/proc/$BTQ_SEED/stat" 2>/dev/null || echo 0)
    awk -v t=$((ticks - BTQ_SEED_TICKS)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f\n", t / hz }' \
        > "$1/seeder-cpu.txt"
    kill -INT "$BTQ_SEED" 2>/dev/null || true; wait "$BTQ_SEED" 2>/dev/null || true; BTQ_SEED=""
}
stop_rc4_seed() {
    [[ -n "$RC4_SEED" ]] || return 0
    kill "$RC4_SEED" 2>/dev/null || true; wait "$RC4_SEED" 2>/dev/null || true; RC4_SEED=""
}
for _ in $(seq 600); do [[ -f "$S/ready" ]] && break; kill -0 "$SEED" 2>/dev/null || break; sleep 0.1; done
[[ -f "$S/ready" ]] || { echo "[bench] seeder not ready:" >&2; cat "$S/log" >&2; exit 1; }
echo "[bench] tracker pid $TRACKER, seeder pid $SEED ready; $NAME, clients: $CLIENTS" >&2

port=6890
clients=(${CLIENTS//,/ })
summary=()
for kib in "${pieces[@]}"; do
TORRENT="$(torrent_of "$kib")"
SET="$RUNS/p${kib}k"
results=()
for ((round = 0; round < ROUNDS; round++)); do
for ((k = 0; k < ${#clients[@]}; k++)); do
    client=${clients[$(((k + round) % ${#clients[@]}))]}
    port=$((port + 1))
    M="$SET/$client/round-$((round + 1))"; OUT="$M/dl"; mkdir -p "$OUT"
    done_file="$M/done"
    printf '#!/bin/sh\n[ -f "%s" ] || date +%%s.%%N > "%s"\n' "$done_file" "$done_file" > "$M/mark.sh"
    chmod +x "$M/mark.sh"
    common=(--name "$client" --meta "$M" --source "$DATA/$NAME" --downloaded "$OUT/$NAME" --timeout "$TIMEOUT")
    echo "[bench] round $((round + 1))/$ROUNDS: $client (port $port)" >&2
    [[ "$client" == *-rc4 ]] && start_rc4_seed
    [[ "$client" == *-utp ]] && start_utp_seed
    [[ "$client" == btq-btq* ]] && start_btq_seed "$M" "$kib" "$client"
    case "$client" in
        btq-btq|btq-btq-plain|btq-btq-tcp)
            BTQ_DB="$M/btq.sqlite" "$BTQ" config set dht off > /dev/null 2>&1 || true
            if [[ "$client" == btq-btq-plain ]]; then
                BTQ_DB="$M/btq.sqlite" "$BTQ" config set encryption disable > /dev/null
            fi
            if [[ "$client" == btq-btq-tcp ]]; then
                BTQ_DB="$M/btq.sqlite" "$BTQ" config set enable_utp off > /dev/null
            fi
            "$PY" "$here/bench_client.py" run "${common[@]}" --exit-is-done -- \
                env BTQ_DB="$M/btq.sqlite" BTQ_LOG=info "$BTQ" get "$(private_torrent_of "$kib")" --dir "$OUT" \
                --port "$port" --bind-address 127.0.0.1 --peer "127.0.0.1:$BTQ_SEED_PORT" --quiet || true ;;
        btq|btq-b|btq-rc4|btq-utp)
            binary="$BTQ"; [[ "$client" == btq-b ]] && binary="$BTQ_B"
            if [[ -x "$binary" ]]; then
                # No DHT node (a binary from before the DHT has none and refuses the setting).
                BTQ_DB="$M/btq.sqlite" "$binary" config set dht off > /dev/null 2>&1 || true
                if [[ "$client" == btq-rc4 ]]; then
                    BTQ_DB="$M/btq.sqlite" "$binary" config set encryption require > /dev/null 2>&1 || true
                fi
                if [[ "$client" == btq-utp ]]; then
                    BTQ_DB="$M/btq.sqlite" "$binary" config set enable_tcp off > /dev/null
                fi
                cmd=(env BTQ_DB="$M/btq.sqlite" BTQ_LOG=info "$binary" get "$TORRENT" --dir "$OUT" --port "$port"
                     --bind-address 127.0.0.1 --quiet)
            else
                cmd=(sh -c 'echo "no btq binary: $1"; exit 127' sh "$binary")
            fi
            "$PY" "$here/bench_client.py" run "${common[@]}" --exit-is-done -- "${cmd[@]}" || true ;;
        libtorrent|libtorrent-rc4|libtorrent-utp)
            enc=(); [[ "$client" == libtorrent-rc4 ]] && enc=(--encryption forced)
            [[ "$client" == libtorrent-utp ]] && enc=(--transport utp)
            "$PY" "$here/bench_client.py" run "${common[@]}" --done-file "$done_file" --stop-signal TERM -- \
                "$PY" "$SUPPORT/lt_seed.py" leech --port "$port" --out "$OUT" --done "$done_file" "${enc[@]}" \
                "$TORRENT" || true ;;
        aria2)
            "$PY" "$here/bench_client.py" run "${common[@]}" --done-file "$done_file" -- \
                aria2c --no-conf=true --dir="$OUT" --seed-time=0 \
                --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false \
                --disable-ipv6=true --interface=127.0.0.1 --listen-port="$port" \
                --async-dns=false --enable-rpc=false --follow-torrent=false --bt-save-metadata=false \
                --file-allocation=falloc --max-overall-download-limit=0 \
                --auto-save-interval=0 --console-log-level=warn --summary-interval=0 \
                --on-bt-download-complete="$M/mark.sh" "$TORRENT" || true ;;
        transmission)
            mkdir -p "$M/conf"
            cat > "$M/conf/settings.json" <<JSON
{
  "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
  "port-forwarding-enabled": false, "blocklist-enabled": false,
  "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
  "peer-port": $port, "peer-port-random-on-start": false,
  "rpc-enabled": false, "rpc-bind-address": "127.0.0.1",
  "speed-limit-down-enabled": false, "speed-limit-up-enabled": false, "alt-speed-enabled": false,
  "download-dir": "$OUT", "incomplete-dir-enabled": false, "watch-dir-enabled": false,
  "script-torrent-done-enabled": false, "message-level": 1
}
JSON
            # transmission never dials 127.0.0.1: once it listens, the seeder dials it (SIGUSR1 + dial file).
            echo "127.0.0.1:$port" > "$S/dial"
            ( for _ in $(seq 100); do
                  if [[ -n "$(ss -Hltn "sport = :$port")" ]]; then kill -USR1 "$SEED"; break; fi
                  sleep 0.1
              done ) &
            dialer=$!
            "$PY" "$here/bench_client.py" run "${common[@]}" --done-file "$done_file" -- \
                transmission-cli -g "$M/conf" -w "$OUT" -p "$port" -M -B -D -U -f "$M/mark.sh" "$TORRENT" || true
            wait "$dialer" || true ;;
        *) echo "[bench] unknown client $client" >&2; continue ;;
    esac
    stop_rc4_seed
    stop_utp_seed
    [[ "$client" == btq-btq* ]] && stop_btq_seed "$M"
    [[ -f "$M/result.json" ]] && results+=("$M/result.json")
    rm -rf "$OUT"      # free the space (and the page cache) before the next client
done
done

echo
echo "$NAME ($SIZE_MIB MiB, $kib KiB pieces) from one local libtorrent seeder, $(nproc) cores" \
    | tee -a "$RUNS/summary.txt"
"$PY" "$here/bench_client.py" table "${results[@]}" | tee -a "$RUNS/summary.txt"
for M in "$SET"/btq-btq*/round-*; do
    [[ -f "$M/seeder-cpu.txt" ]] && echo "$(basename "$(dirname "$M")") ${M##*/}: the btq seeder used $(cat "$M/seeder-cpu.txt") CPU s"
done
for M in "$SET"/btq/round-*; do
    [[ -f "$M/client.log" && -f "$M/time.txt" ]] || continue
    # The progress journal's share of btq's work: its transactions and time in SQLite (from btq's info
    # log) against btq's CPU time (from /usr/bin/time).
    journal=$(grep -o 'journal: .*' "$M/client.log" | tail -1 || true)
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$M/time.txt")
    store_ms=$(sed -n 's/.*, \([0-9.]*\) ms in the store.*/\1/p' <<<"$journal")
    echo "btq ${M##*/} $journal"
    if [[ -n "$store_ms" && -n "$cpu" ]]; then
        awk -v ms="$store_ms" -v cpu="$cpu" \
            'BEGIN { printf "  journal transactions: %.0f ms of %.2f s btq CPU (%.1f%%)\n", ms, cpu, ms / 10 / cpu }'
    fi
done
done
