#!/usr/bin/env bash
# verify_bench.sh -- `btq verify` (a full recheck, hashing on all cores) against `sha1sum` on the same
# data, page cache warm for both.
#
# Usage: Benchmarks/verify_bench.sh [--size-mib 1024] [--btq PATH] [--runs 3]
#
# Makes a deterministic file of --size-mib MiB (AES-128-CTR keystream of zeros), a torrent of it with
# 1 MiB pieces (btq create), adds it to a fresh database with the data in place, reads the file once
# to warm the page cache, then times, alternating, `sha1sum FILE` and `btq verify 1 --quiet` (--runs
# times each) and prints the median MB/s (10^6 bytes) of each and their ratio. sha1sum hashes the
# whole file as one stream on one core; btq verify hashes every piece, several at once. No network.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
SIZE_MIB=1024
BTQ=""
RUNS=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --size-mib) SIZE_MIB="$2"; shift 2 ;;
        --btq) BTQ="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done
if [[ -z "$BTQ" ]]; then
    (cd "$repo" && swift build -c release --product btq >/dev/null)
    BTQ="$repo/.build/release/btq"
fi
BTQ="$(cd "$(dirname "$BTQ")" && pwd)/$(basename "$BTQ")"
work="$(mktemp -d /tmp/btq-verify-bench-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
file="$work/data/verify.bin"
# (head closes the pipe when it has enough: openssl's SIGPIPE is expected)
{ openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 0 </dev/zero 2>/dev/null || true; } \
    | head -c $((SIZE_MIB << 20)) >"$file"
export BTQ_DB="$work/btq.sqlite"
"$BTQ" create "$file" -o "$work/verify.torrent" --piece-size 1M --tracker http://127.0.0.1:6969/announce >/dev/null
"$BTQ" add "$work/verify.torrent" --dir "$work/data" >/dev/null
cat "$file" >/dev/null
bytes=$((SIZE_MIB << 20))
now() { date +%s.%N; }
sha=()
btq=()
for _ in $(seq "$RUNS"); do
    t0=$(now); sha1sum "$file" >/dev/null; t1=$(now)
    sha+=("$(awk "BEGIN {print $bytes / ($t1 - $t0) / 1e6}")")
    t0=$(now); out=$("$BTQ" verify 1 --quiet); t1=$(now)
    case "$out" in *"of $((SIZE_MIB)) pieces valid"*) ;; *) echo "unexpected verify output: $out" >&2; exit 1 ;; esac
    btq+=("$(awk "BEGIN {print $bytes / ($t1 - $t0) / 1e6}")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
s=$(median "${sha[@]}")
b=$(median "${btq[@]}")
cores=$(nproc)
printf 'verify benchmark: %d MiB, 1 MiB pieces, %d cores, page cache warm, median of %d\n' "$SIZE_MIB" "$cores" "$RUNS"
printf '| tool | MB/s |\n|---|---|\n'
printf '| sha1sum (one stream, one core) | %.0f |\n' "$s"
printf '| btq verify (whole command: open db, hash all pieces, record) | %.0f |\n' "$b"
printf 'btq verify / sha1sum: %.2fx\n' "$(awk "BEGIN {print $b / $s}")"
