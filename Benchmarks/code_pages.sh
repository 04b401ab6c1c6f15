#!/usr/bin/env bash
# code_pages.sh -- how much of btq's code a download runs, page by page, against what is resident.
#
# Usage (as root, like download_bench.sh): Benchmarks/code_pages.sh --btq PATH [--clients btq] [--work DIR]
#                                          [--size-mib 1024] [--order-file OUT [--order-size-mib 256]]
#
# The kernel maps a file's pages 64 KiB around each page a process touches (fault-around), so the code
# resident in a process is the code it touched, rounded out. This runs download_bench.sh twice with the
# same btq (three times with --order-file, below):
#  1. traced: a preload (compiled here with cc) takes the executable's code away (PROT_NONE) when it
#     starts; the first fault on each page records the page and gives it back, one page at a time, so
#     nothing around it is mapped; at exit each btq process writes the pages it ran;
#  2. plain;
# and prints, for every btq process of the traced run, the distinct pages of the executable segment it
# touched (KiB: its code; in gold's layout also the Swift metadata and tables that shared the segment), and
# both runs' benchmark tables (peak RSS: traced, every resident page of that segment is one touched).
#
# --order-file OUT writes every function a download runs, sorted by name: the link order a release build
# gives lld (`Package.swift`, `Sources/btq/link-order.txt`). lld places the functions it names first:
# each function of btq's own modules (compiled with `-function-sections`), and the whole object of the
# rest (the packages it depends on, the prebuilt Swift runtime and Foundation); so the code a download
# runs sits together and fault-around maps little else. The functions come from a third download, of
# --order-size-mib MiB, run under valgrind's callgrind, which names every function entered (the page
# trace above sees only pages). Under valgrind, BoringSSL takes its SHA-1 without the CPU's SHA
# instructions; that one assembly object is left where the linker puts it. To refresh the order after
# code changes (root; needs valgrind):
#     Benchmarks/code_pages.sh --btq .build/release/btq --order-file Sources/btq/link-order.txt
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BTQ=""
CLIENTS="btq"
WORK="/tmp/btq-code-pages"
SIZE_MIB=1024
ORDER_FILE=""
ORDER_SIZE_MIB=256
while [[ $# -gt 0 ]]; do
    case "$1" in
        --btq) BTQ="$2"; shift 2 ;;
        --clients) CLIENTS="$2"; shift 2 ;;
        --work) WORK="$2"; shift 2 ;;
        --size-mib) SIZE_MIB="$2"; shift 2 ;;
        --order-file) ORDER_FILE="$2"; shift 2 ;;
        --order-size-mib) ORDER_SIZE_MIB="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done
[[ -x "$BTQ" ]] || { echo "--btq: a btq binary (a release build)" >&2; exit 64; }
BTQ="$(readlink -f "$BTQ")"
mkdir -p "$WORK"
rm -rf "$WORK/pages" && mkdir -p "$WORK/pages"

cat > "$WORK/pagetrace.c" <<'EOF'
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static unsigned long lo, hi;
static unsigned char *ran;
static struct sigaction previous;
static void fault(int sig, siginfo_t *info, void *context) {
    unsigned long address = (unsigned long)info->si_addr;
    if (address >= lo && address < hi) {
        unsigned long page = address & ~4095UL;
        ran[(page - lo) >> 12] = 1;
        mprotect((void *)page, 4096, PROT_READ | PROT_EXEC);
        return;
    }
    sigaction(SIGSEGV, &previous, NULL); /* not ours: fault again, as if untraced */
}
__attribute__((constructor)) static void start(void) {
    if (!getenv("CODE_PAGES")) return;
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return;
    char line[1024];
    while (fgets(line, sizeof line, maps)) {
        unsigned long a, b; char perm[8], path[600] = "";
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %599s", &a, &b, perm, path) < 3) continue;
        if (strcmp(path, exe) == 0 && perm[2] == 'x') { lo = a; hi = b; }
    }
    fclose(maps);
    if (!lo) return;
    ran = mmap(NULL, (hi - lo) >> 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ran == MAP_FAILED) { lo = 0; return; }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = fault;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &action, &previous);
    mprotect((void *)lo, hi - lo, PROT_NONE);
}
__attribute__((destructor)) static void stop(void) {
    const char *out = getenv("CODE_PAGES");
    if (!out || !lo) return;
    char path[700];
    snprintf(path, sizeof path, "%s/%d", out, getpid());
    FILE *f = fopen(path, "w");
    if (!f) return;
    unsigned long pages = 0;
    for (unsigned long i = 0; i < (hi - lo) >> 12; i++) pages += ran[i];
    fprintf(f, "%lu %lu\n", pages, (hi - lo) >> 12);
    for (unsigned long i = 0; i < (hi - lo) >> 12; i++)
        if (ran[i]) fprintf(f, "%lx\n", i << 12); /* each page touched, as an offset into the segment */
    fclose(f);
}
EOF
cc -shared -fPIC -O2 -o "$WORK/pagetrace.so" "$WORK/pagetrace.c"
cat > "$WORK/btq" <<EOF
#!/bin/sh
CODE_PAGES="$WORK/pages" LD_PRELOAD="$WORK/pagetrace.so" SWIFT_BACKTRACE=enable=no exec "$BTQ" "\$@"
EOF
chmod +x "$WORK/btq"

echo "== traced (every resident page of the executable segment is one touched)"
"$here/download_bench.sh" --btq "$WORK/btq" --clients "$CLIENTS" --rounds 1 --size-mib "$SIZE_MIB" \
    --work "$WORK/bench" | sed -n '/^client/,/^$/p'
echo "pages of the executable segment each btq process touched (KiB touched / KiB of the segment):"
for f in "$WORK"/pages/*; do
    [[ -f "$f" ]] && awk 'NR == 1 { printf "  %d / %d KiB\n", $1 * 4, $2 * 4 }' "$f"
done | sort -n -k1
if [[ -n "$ORDER_FILE" ]]; then
    # Every function a download runs, from a download run under callgrind (which names each function it
    # enters, where the page trace sees pages): a copy of btq without its debug information (valgrind
    # does not read Swift's), --order-size-mib MiB from the same seeder. Sorted by name, so that a
    # refresh changes only what the code changed.
    echo "== under callgrind, for the order file ($ORDER_SIZE_MIB MiB)"
    command -v valgrind > /dev/null || { echo "--order-file needs valgrind (scripts/install-deps)" >&2; exit 69; }
    rm -rf "$WORK/callgrind" && mkdir -p "$WORK/callgrind"
    strip --strip-debug -o "$WORK/btq-nodebug" "$BTQ"
    cat > "$WORK/btq-callgrind" <<EOF
#!/bin/sh
SWIFT_BACKTRACE=enable=no exec valgrind --tool=callgrind --demangle=no --compress-strings=no --dump-instr=no \\
    --callgrind-out-file="$WORK/callgrind/%p" "$WORK/btq-nodebug" "\$@"
EOF
    chmod +x "$WORK/btq-callgrind"
    "$here/download_bench.sh" --btq "$WORK/btq-callgrind" --clients "$CLIENTS" --rounds 1 \
        --size-mib "$ORDER_SIZE_MIB" --work "$WORK/bench" --timeout 1800 | sed -n '/^client/,/^$/p'
    nm --defined-only -S "$BTQ" | python3 -c '
import glob, sys
ran = set()
for path in glob.glob(sys.argv[1] + "/*"):
    for line in open(path, errors="replace"):
        if line.startswith(("fn=", "cfn=")):
            ran.add(line.split("=", 1)[1].strip())
functions = {}
for line in sys.stdin:
    fields = line.split(None, 3)
    if len(fields) == 4 and fields[2] in "tTW":
        functions[fields[3].strip()] = int(fields[1], 16)
kept = sorted(name for name in ran if name in functions)
with open(sys.argv[2], "w") as out:
    out.writelines(name + "\n" for name in kept)
print("order file: %d functions run (%d KiB of code) -> %s"
      % (len(kept), sum(functions[name] for name in kept) // 1024, sys.argv[2]))
' "$WORK/callgrind" "$ORDER_FILE"
fi
echo "== plain"
"$here/download_bench.sh" --btq "$BTQ" --clients "$CLIENTS" --rounds 1 --size-mib "$SIZE_MIB" \
    --work "$WORK/bench" | sed -n '/^client/,/^$/p'
