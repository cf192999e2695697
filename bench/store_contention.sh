#!/usr/bin/env bash
# fwgate store contention: are cache hits held by a commit? Eight clients,
# each on its own warm tunnel through `fwgate run`, ask for one cached 4 KiB
# object over and over; their per-request latency is measured in three
# phases, side by side in one run:
#   idle     nothing else happens;
#   commits  a ninth client downloads new files (BENCH_COMMIT_MIB) back to back (each
#            one scanned and committed: blob rename, directory fsync, SQLite
#            transaction with synchronous=FULL);
#   locked   as `commits`, while another process (as `fwgate quarantine
#            release` or `fwgate store gc` would) holds the database's write
#            lock for BENCH_HOLD_MS at a time, so the gateway's commits wait
#            for it (SQLite's busy timeout).
# The figure that matters is the hits' p99 and max in `commits` and `locked`
# against `idle`: a hit reads; it should never wait for a writer.
#
# Usage: bash bench/store_contention.sh [BUILD_DIR]   (default: build/)
# Environment: BENCH_REQS  requests per client per phase [300]
#              BENCH_HOLD_MS  how long the other process holds the lock [1500]
#              BENCH_COMMIT_MIB  size of each committed download, MiB [2]
# Talks only to 127.0.0.1; everything lives in a mktemp directory, removed at
# exit with every process started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$PWD/$BUILD") ;; esac
FW=$BUILD/cli/fwgate
REQS=${BENCH_REQS:-300}
HOLD_MS=${BENCH_HOLD_MS:-1500}
COMMIT_MIB=${BENCH_COMMIT_MIB:-2}
CLIENTS=8
for v in REQS HOLD_MS COMMIT_MIB; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_$v must be a positive integer" >&2; exit 1; }
done
[ -x "$FW" ] || { echo "bench: FAIL: $FW is missing (tools/dev.sh build)" >&2; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

T=$(mktemp -d /tmp/fwgate-bench-store-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
SRC=$ROOT
HERE=$ROOT/tests/integration
. "$HERE/lib.sh"

mkdir -p "$T/www" "$T/res"
bash "$HERE/pki.sh" "$T/pki" >/dev/null
fwdata 4096 "$T/www/small.bin"
fwdata $((COMMIT_MIB * 1024 * 1024)) "$T/www/big.bin"
start_origin origin
OP=$ORIGIN_PORT
make_card "$T/card.json" "$OP"
printf 'vendor.test\n' >"$T/allow.txt"
FP=$(free_port)
{
	printf '[proxy]\nlisten = 127.0.0.1:%s\n' "$FP"
	printf '[console]\nlisten = 127.0.0.1:%s\n' "$(free_port)"
	printf '[state]\ndir = %s/state\n[policy]\nfile = %s/card.json\nallowlist = %s/allow.txt\n' "$T" "$T" "$T"
	printf '[upstream]\nca_file = %s/pki/testca.crt\nallow_private = true\nresolve = vendor.test:%s:127.0.0.1\n' "$T" "$OP"
	printf '[log]\nfile = %s/events.log\n' "$T"
} >"$T/fwgate.conf"
start_fwgate fwgate "$T/fwgate.conf"
CA=$T/state/ca/ca.crt
HIT="https://vendor.test:$OP/files/small.bin?hit"

# The object to hit, cached by one cold download.
code=$(curl -q -s -o "$T/got" -w '%{http_code}' --max-time 60 --proxy "http://127.0.0.1:$FP" --cacert "$CA" "$HIT")
[ "$code" = 200 ] && cmp -s "$T/got" "$T/www/small.bin" || { echo "bench: FAIL: priming the cache: HTTP $code" >&2; exit 1; }

# hits PHASE: CLIENTS curl processes, REQS requests each on one warm tunnel;
# every request's total time (seconds) goes to res/PHASE.
hits() {
	local phase=$1 i args=() c cpids=()
	for i in $(seq 1 "$REQS"); do args+=(-o /dev/null --url "$HIT"); done
	for c in $(seq 1 "$CLIENTS"); do
		curl -q -sS --http1.1 --max-time 300 --proxy "http://127.0.0.1:$FP" --cacert "$CA" \
			-w '%{http_code} %{time_total}\n' "${args[@]}" >"$T/res/$phase.$c" 2>"$T/res/$phase.$c.err" &
		cpids+=($!)
	done
	for c in "${cpids[@]}"; do
		wait "$c" || { echo "bench: FAIL: a client of $phase failed: $(cat "$T"/res/"$phase".*.err)" >&2; exit 1; }
	done
	collect "$phase"
}
collect() {
	cat "$T"/res/"$1".[0-9]* >"$T/res/$1"
	if awk '$1 != 200 { bad = 1 } END { exit !bad }' "$T/res/$1"; then
		echo "bench: FAIL: $1: a hit was not answered 200" >&2
		exit 1
	fi
	[ "$(wc -l <"$T/res/$1")" = $((CLIENTS * REQS)) ] || { echo "bench: FAIL: $1: missing answers" >&2; exit 1; }
}

# committer: new contents back to back (the last 16 bytes change).
committer() {
	local n=0
	while [ ! -e "$T/stop" ]; do
		n=$((n + 1))
		head -c 16 /dev/urandom | LC_ALL=C tr '\200-\377' '\000-\177' |
			dd of="$T/www/big.bin" bs=16 seek=$((COMMIT_MIB * 1024 * 1024 / 16 - 1)) conv=notrunc status=none
		curl -q -s -o /dev/null --max-time 120 --proxy "http://127.0.0.1:$FP" --cacert "$CA" \
			"https://vendor.test:$OP/files/big.bin?n=$n.$RANDOM" || true
	done
}

# locker: holds the write lock of the gateway's database, HOLD_MS at a
# time, with short gaps, until told to stop.
locker() {
	python3 - "$T/state/fwgate.db" "$HOLD_MS" "$T/stop" <<'PY'
import os, sqlite3, sys, time
db, hold, stop = sys.argv[1], int(sys.argv[2]) / 1000.0, sys.argv[3]
c = sqlite3.connect(db, timeout=30, isolation_level=None)
while not os.path.exists(stop):
    c.execute("BEGIN IMMEDIATE")
    time.sleep(hold)
    c.execute("COMMIT")
    time.sleep(0.2)
PY
}

# ndone: cold downloads answered so far
ndone() { grep '"event.action":"proxy-request"' "$T/events.log" | grep -c 'big.bin?n=' || true; }
hits idle
rm -f "$T/stop"
committer &
pids+=($!)
sleep 1
hits commits
n_commits=$(ndone)
locker &
pids+=($!)
sleep 0.5
hits locked
n_locked=$(( $(ndone) - n_commits ))
touch "$T/stop"
n=${#pids[@]}
wait "${pids[n - 1]}" "${pids[n - 2]}" 2>/dev/null || true
kill -0 "$FWPID" 2>/dev/null || { echo "bench: FAIL: fwgate died" >&2; exit 1; }

pct() { # FILE P
	awk '{print $2}' "$1" | sort -g | awk -v p="$2" '{ a[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.2f", a[i] * 1000 }'
}
echo
echo "fwgate store contention, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPU, fwgate $($FW version 2>/dev/null | head -n 1)"
echo "$CLIENTS clients x $REQS cache hits of a 4 KiB object per phase, warm tunnels; latency in ms"
printf '%-9s %8s %8s %8s %9s\n' phase p50 p90 p99 max
for ph in idle commits locked; do
	printf '%-9s %8s %8s %8s %9s\n' "$ph" "$(pct "$T/res/$ph" 50)" "$(pct "$T/res/$ph" 90)" \
		"$(pct "$T/res/$ph" 99)" "$(pct "$T/res/$ph" 100)"
done
echo "cold $COMMIT_MIB MiB downloads answered (each one scanned and committed): $n_commits during commits, $n_locked during locked"
echo "locked: another process held the write lock ${HOLD_MS} ms at a time"
echo "rerun: bash bench/store_contention.sh $BUILD"
